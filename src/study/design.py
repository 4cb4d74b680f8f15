"""A sequential design, declared before the first run: the looks, the margin, the error rates, the spending.

Error control across the family: Bonferroni. Each of the K comparisons gets alpha / K for its difference test
and alpha / K for its equivalence test, so the chance of any false `better`/`worse` when nothing differs, and of
any false `equivalent` when every difference equals the margin, each stays below alpha at every look and over all
of them. Bonferroni holds under any dependence (comparisons of one scale share the reference's runs) and keeps a
comparison's boundaries independent of how the others turned out, so a look's decisions never depend on the
order of the comparisons. Holm's step-down could recycle the alpha of decided comparisons, but in a group-
sequential study that means recomputing every boundary of the open comparisons after each decision (Maurer &
Bretz 2013, Stat Biopharm Res 5:311), for a gain of at most a factor K / (K - j) in level.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

from src.contracts.errors import UserError
from src.study.boundaries import SPENDING, SPENDING_NAMES, nominal_levels


@dataclass(frozen=True)
class Design:
    """`looks`: cumulative seeds per comparison at each look; `margin`: equivalence margin (dB of the primary
    endpoint); `alpha`: family-wise rate for each kind of false verdict; `comparisons`: the family's size."""

    looks: tuple[int, ...]
    margin: float
    alpha: float
    comparisons: int
    spending: str = "obf"

    def __post_init__(self) -> None:
        object.__setattr__(self, "looks", tuple(int(n) for n in self.looks))
        check(self)

    @property
    def alpha_per_comparison(self) -> float:
        return self.alpha / self.comparisons

    def levels(self) -> list[tuple[float, float]]:
        """(difference, equivalence) nominal p-value levels of each look, for one comparison."""
        a = self.alpha_per_comparison
        difference = nominal_levels(self.looks, a, self.spending, True)
        equivalence = nominal_levels(self.looks, a, self.spending, False)
        return list(zip(difference, equivalence, strict=True))

    def fixed(self) -> Design:
        """The fixed design with the same maximum: one look at the last look's seeds."""
        return Design((self.looks[-1],), self.margin, self.alpha, self.comparisons, self.spending)

    def describe(self) -> str:
        return (
            f"looks at {', '.join(map(str, self.looks))} seeds; margin {self.margin:g} dB; alpha {self.alpha:g} "
            f"family-wise for false better/worse and for false equivalent (Bonferroni over {self.comparisons} "
            f"comparison{'s' if self.comparisons != 1 else ''}); {SPENDING_NAMES[self.spending]} alpha spending "
            "(Lan & DeMets 1983), t boundaries by Monte Carlo"
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "looks": list(self.looks)}


def check(design: Design) -> None:
    looks = design.looks
    if not looks or looks[0] < 2 or any(b <= a for a, b in itertools.pairwise(looks)):
        raise UserError(
            f"study.looks={list(looks)}: give increasing seed counts, the first at least 2 (e.g. study.looks=[3,5,8])"
        )
    if not design.margin > 0:
        raise UserError(f"study.margin={design.margin}: give the equivalence margin in dB, a number > 0")
    if not 0 < design.alpha < 0.5:
        raise UserError(f"study.alpha={design.alpha}: give a family-wise error rate between 0 and 0.5 (e.g. 0.05)")
    if design.comparisons < 1:
        raise UserError("the study compares nothing: give at least one level besides the reference")
    if design.spending not in SPENDING:
        raise UserError(f"study.spending={design.spending}: choose one of {', '.join(SPENDING)}")
