"""Imported by the forkserver that validation workers fork from: the pyx12 maps are loaded there once,
and every worker starts with them."""

from app.x12.pyx12_check import warm_up

warm_up()
