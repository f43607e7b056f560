"""What the check finds in `notify` effects once the whole set is read: a template not in
templates.yaml, a channel the template has no text for, an event attribute the rule's events
do not carry, a reward or offer placeholder in a rule that gives none."""

from __future__ import annotations

from loyalty.domain.attributes import TRANSACTION_EVENTS, event_def
from loyalty.domain.decisions import GrantReward, IssueOffer, Notify
from loyalty.domain.messages import event_attributes, placeholders
from loyalty.domain.policy import ProgramPolicy
from loyalty.engine.problems import Problem, did_you_mean
from loyalty.engine.syntax import Compare, Group, RuleDef

REWARD_WORDS = ("reward", "voucher")
OFFER_WORDS = ("offer", "offer.code")


def notification_problems(rules: list[RuleDef], policy: ProgramPolicy) -> list[Problem]:
    """Every problem of the set's notify effects that needs more than the rule itself."""
    problems: list[Problem] = []
    for rule in rules:
        for effect_def in rule.effects:
            if isinstance(effect_def.effect, Notify):
                line = effect_def.line or rule.line
                problems.extend(Problem(rule.file, line, rule.id, message)
                                for message in _notify(rule, effect_def.effect, policy))
    return problems


def _notify(rule: RuleDef, effect: Notify, policy: ProgramPolicy) -> list[str]:
    texts: list[str] = [effect.message] if effect.message else []
    where = "notify"
    if effect.template is not None:
        template = policy.template(effect.template)
        if template is None:
            named = [found.name for found in policy.templates]
            known = (f"templates.yaml has {', '.join(named)}" if named
                     else "the folder has no templates.yaml")
            return [f"notify names template '{effect.template}', not in templates.yaml "
                    f"({known})" + did_you_mean(effect.template, named)]
        missing = [channel for channel in effect.channels if channel not in template.texts]
        if missing:
            return [f"template '{template.name}' has no text for channel "
                    f"{', '.join(repr(m) for m in missing)} (it has "
                    f"{', '.join(template.channels)})"]
        channels = effect.channels or template.channels
        texts = [template.texts[channel] for channel in channels] + [template.subject]
        where = f"template '{template.name}'"
    names = {name for text in texts for name in placeholders(text)[0]}
    return _attributes(rule, names, policy, where) + _given(rule, names, where)


def events_of(rule: RuleDef) -> tuple[str, ...]:
    """The events a rule can fire for: those it reacts to, narrowed by a test of `event.type`
    that every match must pass (`is` or `in`, not inside any or none)."""
    when = rule.when
    tests = [when] if isinstance(when, Compare) else (
        [item for item in when.items if isinstance(item, Compare)]
        if isinstance(when, Group) and when.kind == "all" else [])
    events = set(rule.events)
    for test in tests:
        if test.path == "event.type" and test.op in ("is", "in"):
            values = test.value if isinstance(test.value, tuple) else (test.value,)
            events &= {str(value) for value in values}
    return tuple(event for event in rule.events if event in events)


def _attributes(rule: RuleDef, names: set[str], policy: ProgramPolicy, where: str) -> list[str]:
    """`{event.<attribute>}` placeholders the rule's events do not carry."""
    messages: list[str] = []
    for attribute in sorted(event_attributes(names)):
        for event in events_of(rule):
            if event in TRANSACTION_EVENTS:
                messages.append(f"{where} uses {{event.{attribute}}}, but {event} events carry "
                                "no attributes")
                continue
            definition = event_def(policy, event)
            if definition is None or definition.attribute(attribute) is not None:
                continue  # an event without declared attributes carries what the till sends
            carried = [a.name for a in definition.attributes]
            messages.append(
                f"{where} uses {{event.{attribute}}}, but {event} events carry "
                + (", ".join(carried) if carried else "no attributes")
                + did_you_mean(attribute, carried))
    return messages


def _given(rule: RuleDef, names: set[str], where: str) -> list[str]:
    """Reward and offer placeholders in a rule that grants no reward or issues no offer."""
    effects = [effect_def.effect for effect_def in rule.effects]
    rewards = any(isinstance(effect, GrantReward) for effect in effects)
    offers = any(isinstance(effect, IssueOffer) for effect in effects)
    messages: list[str] = []
    for name in sorted(names):
        if name in REWARD_WORDS and not rewards:
            messages.append(f"{where} uses {{{name}}}, but the rule grants no reward")
        elif name in OFFER_WORDS and not offers:
            messages.append(f"{where} uses {{{name}}}, but the rule issues no offer")
        elif name == "expires_at" and not (rewards or offers):
            messages.append(f"{where} uses {{expires_at}}, but the rule grants no reward and "
                            "issues no offer")
    return messages
