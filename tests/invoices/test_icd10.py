"""app.invoices.icd10 answers every question the diagnosis rules ask exactly as simple-icd-10-cm does, for every
code the library knows (with and without its dot) and for codes it does not: icd10cm.txt is current."""

import simple_icd_10_cm as lib
from simple_icd_10_cm import simple_icd_10_cm as tree

from app.invoices import icd10


def test_every_code_answers_as_the_library():
    names = list(tree._code_to_node)
    asked = set(names) | {n.replace(".", "") for n in names}
    asked |= {"", "Z", "Z59.0", "Z5901X", "A00.00", "1", "22", "U07", "XYZ1", "C7A", "A0.09", "Z59010"}
    for code in sorted(asked):
        assert icd10.is_valid_item(code) == lib.is_valid_item(code), code
        if lib.is_valid_item(code):
            assert icd10.is_leaf(code) == lib.is_leaf(code), code
            if not lib.is_leaf(code):
                assert icd10.get_descendants(code) == lib.get_descendants(code), code


def test_the_server_does_not_load_the_library():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys, app.main; print('simple_icd_10_cm' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
