"""The guided need wizard for owners who do not know what to ask for, in five plain forms.

1. **Problems**: the industry and the pain points, in the owner's words (设备停机多, 能耗高 …),
   plus an optional free description.
2. **Capabilities and scenes**: suggested from the pain points and the description; each
   capability is a must, a nice-to-have or not needed, each scene has a level now and a goal.
3. **Budget and pricing**: a range in 元, preferred pricing models, on-site work.
4. **Equipment**: protocols, pre-filled from the profile's equipment inventory.
5. **Review**: title and description, what the text was understood to say (with the words
   that produced each item), the chance to add what was understood or go back to any step.

The pain points and what they map to are **one table**, ``PAIN_POINTS`` in
``market.needs.understanding``: each entry has the owner's phrases, the capabilities that
address it (the first is the main answer, later ones companions) and the MIIT scenes it
belongs to. The free-text understanding reads the same table, so a pain point ticked here and
one written in the description lead to the same suggestions.

No JavaScript: every step posts the whole state, earlier answers riding along as hidden
fields, and the server renders the next step. Nothing is saved before the last step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from catalog.taxonomy import vocabulary
from market.needs.schemas import SmeProfileOut
from market.needs.understanding import PAIN_POINTS, PainPoint, Understanding, understand
from market.web import forms
from market.web.forms import FieldProblem, FormErrors
from market.web.i18n import N_
from market.web.security import WebContext

STEPS: tuple[str, ...] = (
    N_("Problems"),
    N_("Capabilities"),
    N_("Budget"),
    N_("Equipment"),
    N_("Review"),
)
LAST_STEP = len(STEPS)
LEVELS = (1, 2, 3, 4)


def pain_points() -> tuple[PainPoint, ...]:
    return PAIN_POINTS


def _pain(pain_id: str) -> PainPoint | None:
    return next((p for p in PAIN_POINTS if p.id == pain_id), None)


def _level(raw: str, default: int) -> int:
    return int(raw) if raw.isdigit() and int(raw) in LEVELS else default


@dataclass
class WizardState:
    """Everything answered so far; what the hidden fields of each step carry."""

    industry: str = ""
    pains: list[str] = field(default_factory=list)
    text: str = ""
    must: list[str] = field(default_factory=list)
    nice: list[str] = field(default_factory=list)
    scenes: dict[str, tuple[int, int]] = field(default_factory=dict)
    budget_min: str = ""
    budget_max: str = ""
    pricing: list[str] = field(default_factory=list)
    onsite: bool = False
    protocols: list[str] = field(default_factory=list)
    title: str = ""
    description: str = ""
    # What the suggestions were made from, so going back and forth keeps the owner's choices
    # unless the problems themselves changed.
    suggested_for: str = ""
    protocols_filled: bool = False

    # --- reading ------------------------------------------------------------------------------

    @classmethod
    def from_form(cls, form: FormData, submitted_step: int) -> WizardState:
        state = cls(
            industry=forms.text(form, "industry"),
            pains=[p for p in forms.choices(form, "pains") if _pain(p) is not None],
            text=forms.text(form, "text"),
            budget_min=forms.text(form, "budget_min"),
            budget_max=forms.text(form, "budget_max"),
            pricing=forms.choices(form, "pricing"),
            onsite=forms.text(form, "onsite") == "1",
            protocols=forms.choices(form, "protocols"),
            title=forms.text(form, "title"),
            description=forms.text(form, "description"),
            suggested_for=forms.text(form, "suggested_for"),
            protocols_filled=forms.text(form, "protocols_filled") == "1",
        )
        if submitted_step == 2:
            for cap in vocabulary("capabilities"):
                choice = forms.text(form, f"cap.{cap.id}")
                if choice == "must":
                    state.must.append(cap.id)
                elif choice == "nice":
                    state.nice.append(cap.id)
        else:
            state.must = forms.choices(form, "must")
            state.nice = forms.choices(form, "nice")
        for scene in forms.choices(form, "scenes"):
            if scene in vocabulary("scenes"):
                current = _level(forms.text(form, f"level.{scene}.current"), 1)
                target = _level(forms.text(form, f"level.{scene}.target"), min(current + 1, 4))
                state.scenes[scene] = (current, target)
        return state

    def hidden(self, step: int) -> list[tuple[str, str]]:
        """Hidden fields for every answer not asked on ``step`` itself."""
        pairs: list[tuple[str, str]] = [
            ("suggested_for", self.suggested_for),
            ("protocols_filled", "1" if self.protocols_filled else ""),
        ]
        if step != 1:
            pairs += [("industry", self.industry), ("text", self.text)]
            pairs += [("pains", p) for p in self.pains]
        if step != 2:
            pairs += [("must", c) for c in self.must] + [("nice", c) for c in self.nice]
            for scene, (current, target) in self.scenes.items():
                pairs += [
                    ("scenes", scene),
                    (f"level.{scene}.current", str(current)),
                    (f"level.{scene}.target", str(target)),
                ]
        if step != 3:
            pairs += [("budget_min", self.budget_min), ("budget_max", self.budget_max)]
            pairs += [("pricing", p) for p in self.pricing]
            pairs += [("onsite", "1" if self.onsite else "")]
        if step != 4:
            pairs += [("protocols", p) for p in self.protocols]
        if step != LAST_STEP:
            pairs += [("title", self.title), ("description", self.description)]
        return [(name, value) for name, value in pairs if value != ""]

    # --- checking each step -------------------------------------------------------------------

    def check(self, ctx: WebContext, step: int) -> FormErrors:
        errors = FormErrors()
        if step == 1 and not self.pains and not self.text:
            errors.add(
                "pains",
                ctx.gettext("Tick at least one problem, or describe your situation in words."),
            )
        if step == 2 and not self.must and not self.nice:
            errors.add("capabilities", ctx.gettext("Choose at least one capability."))
        if step == 3:
            for name in ("budget_min", "budget_max"):
                try:
                    forms.yuan_to_fen(getattr(self, name), ctx, name)
                except FieldProblem as problem:
                    errors.add(problem.key, problem.message)
        if step == LAST_STEP and not self.title:
            errors.add("title", ctx.gettext(forms.REQUIRED))
        return errors

    # --- suggestions --------------------------------------------------------------------------

    def understood(self) -> Understanding:
        return understand(" ".join(part for part in (self.text, self.description) if part))

    def _problem_key(self) -> str:
        return "|".join(sorted(self.pains)) + "#" + self.text

    def suggest(self, profile: SmeProfileOut) -> None:
        """Fill capabilities and scenes from the problems, once per set of problems."""
        if self.suggested_for == self._problem_key():
            return
        self.suggested_for = self._problem_key()
        must: list[str] = []
        nice: list[str] = []
        scenes: list[str] = []
        for pain_id in self.pains:
            pain = _pain(pain_id)
            if pain is None:
                continue
            if pain.capabilities:
                must.append(pain.capabilities[0])
                nice.extend(pain.capabilities[1:])
            scenes.extend(pain.scenes)
        understood = understand(self.text) if self.text else Understanding()
        nice.extend(understood.capability_ids)
        scenes.extend(match.id for match in understood.scenes)
        for match in understood.pain_points:
            if match.capabilities:
                must.append(match.capabilities[0])
                nice.extend(match.capabilities[1:])
            scenes.extend(match.scenes)
        self.must = list(dict.fromkeys(must))
        self.nice = [c for c in dict.fromkeys(nice) if c not in self.must]
        self.scenes = {}
        for scene in dict.fromkeys(scenes):
            current = min(profile.maturity.get(scene, 1), 3)
            self.scenes[scene] = (current, current + 1)
        if not self.title:
            self.title = self.default_title()
        if not self.description and self.text:
            self.description = self.text

    def fill_protocols(self, profile: SmeProfileOut) -> None:
        if self.protocols_filled:
            return
        self.protocols_filled = True
        understood = understand(self.text) if self.text else Understanding()
        known = [*self.protocols, *profile.inventory_protocols, *understood.protocol_ids]
        self.protocols = list(dict.fromkeys(known))

    def default_title(self) -> str:
        names = [pain.zh for pain in (_pain(p) for p in self.pains) if pain is not None]
        if names:
            return "解决" + "、".join(names[:3])
        return self.text[:40]

    # --- the need -----------------------------------------------------------------------------

    def payload(self, ctx: WebContext) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "must_capabilities": self.must,
            "nice_capabilities": self.nice,
            "scenes": [
                {"scene": s, "current_level": c, "target_level": t}
                for s, (c, t) in self.scenes.items()
            ],
            # Sent even when empty: the owner has seen and confirmed the list.
            "protocols": self.protocols,
            "budget_min_fen": forms.yuan_to_fen(self.budget_min, ctx, "budget_min"),
            "budget_max_fen": forms.yuan_to_fen(self.budget_max, ctx, "budget_max"),
            "preferred_pricing": self.pricing,
            "onsite_required": self.onsite,
        }


# Where a field of the need is asked, so an error found at the end sends the owner there.
FIELD_STEPS: dict[str, int] = {
    "must_capabilities": 2,
    "nice_capabilities": 2,
    "scenes": 2,
    "budget_min_fen": 3,
    "budget_max_fen": 3,
    "preferred_pricing": 3,
    "protocols": 4,
    "title": LAST_STEP,
    "description": LAST_STEP,
}
FIELD_KEYS: dict[str, str] = {
    "must_capabilities": "capabilities",
    "nice_capabilities": "capabilities",
    "budget_min_fen": "budget_min",
    "budget_max_fen": "budget_max",
    "preferred_pricing": "pricing",
}


def need_key(parts: list[str], _error: Any) -> str:
    if not parts:
        return forms.GENERAL
    return FIELD_KEYS.get(parts[0], parts[0])


def step_of_errors(errors: FormErrors) -> int:
    """The earliest step holding a field with an error (the review when none does)."""
    keyed = {FIELD_KEYS.get(name, name): step for name, step in FIELD_STEPS.items()}
    return min((keyed[key] for key in errors.fields if key in keyed), default=LAST_STEP)
