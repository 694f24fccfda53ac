"""The one shape every rejection and warning takes: where, what code, what was wrong, what is accepted."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    loc: str
    code: str
    message: str
    allowed: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"loc": self.loc, "code": self.code, "message": self.message}
        if self.allowed is not None:
            out["allowed"] = self.allowed
        return out


@dataclass
class Findings:
    """Collects errors and warnings; a check adds to it and moves on, so every problem is reported at once."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def error(self, loc: str, code: str, message: str, allowed: list[str] | None = None) -> None:
        self.errors.append(Problem(loc, code, message, allowed))

    def warn(self, loc: str, code: str, message: str, allowed: list[str] | None = None) -> None:
        self.warnings.append(Problem(loc, code, message, allowed))

    def has_errors_at(self, prefix: str) -> bool:
        return any(p.loc == prefix or p.loc.startswith(prefix + ".") for p in self.errors)
