"""Speculative decoding on the real llama-server, told as it is: medians of interleaved runs.

Each model runs side by side plain and with each kind of drafting (n-gram drafts from the context;
a smaller model of the same family); the servers answer the same requests in turns (plain,
drafted, plain, …), so load from elsewhere on the machine slows them alike. Two kinds of answer:
- copying: a code edit (rename a variable in a 45-line function): the answer repeats its prompt,
  so drafts taken from the context (n-grams) or from a small model mostly hold;
- free-form: an explanation, where the prompt has nothing to copy.
Speed is llama-server's own `timings.predicted_per_second`; drafts accepted/total are
`timings.draft_n_accepted` / `draft_n` (summed over the runs). Temperature 0: the drafted
answer is the plain one, only faster or slower. One thread per server (a shared machine).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from zenllama.langchain import ChatZenLlama
from zenllama.local import LlamaServer, coder_model_path

FUNCTION = '''def summarize_orders(orders, tax_rate, discounts):
    """Totals a list of orders, applying discounts and tax, and reports per-customer sums."""
    total = 0.0
    per_customer = {}
    skipped = []
    for order in orders:
        if order.get("cancelled"):
            skipped.append(order["id"])
            continue
        amount = 0.0
        for line in order["lines"]:
            price = line["price"] * line["quantity"]
            if line.get("sku") in discounts:
                price = price * (1 - discounts[line["sku"]])
            amount += price
        if amount <= 0:
            skipped.append(order["id"])
            continue
        amount = round(amount * (1 + tax_rate), 2)
        total += amount
        customer = order["customer"]
        per_customer[customer] = per_customer.get(customer, 0.0) + amount
    largest = None
    for customer, amount in per_customer.items():
        if largest is None or amount > per_customer[largest]:
            largest = customer
    average = total / len(per_customer) if per_customer else 0.0
    report = []
    for customer in sorted(per_customer):
        share = per_customer[customer] / total if total else 0.0
        report.append(f"{customer}: {per_customer[customer]:.2f} ({share:.0%})")
    if skipped:
        report.append(f"skipped: {', '.join(str(i) for i in skipped)}")
    report.append(f"total: {total:.2f}")
    report.append(f"average per customer: {average:.2f}")
    if largest is not None:
        report.append(f"largest customer: {largest}")
    return {
        "total": total,
        "average": average,
        "largest": largest,
        "per_customer": per_customer,
        "skipped": skipped,
        "report": "\\n".join(report),
    }
'''


@dataclass
class Prompt:
    kind: str
    text: str
    max_tokens: int
    # What the answer did, where that matters for reading the figures.
    check: Callable[[str], str] = lambda answer: ""


PROMPTS = [
    Prompt(
        "copying (rename a variable in a 45-line function)",
        "Rename the variable `total` to `grand_total` in this function. Reply with the whole "
        f"function and nothing else.\n\n```python\n{FUNCTION}```",
        700,  # the whole function again is ~430 tokens
        lambda answer: "renamed" if "grand_total" in answer else "returned it unrenamed",
    ),
    # Greedy decoding makes a small model's story loop (which n-grams then draft from): an
    # explanation does not.
    Prompt(
        "free-form (explain hash maps)", "Explain how a hash map works to a new programmer.", 200
    ),
]


@dataclass
class Config:
    name: str
    plain: dict[str, Any]
    # Drafting servers by label, built when the configuration runs (a draft model is fetched
    # then).
    drafted: Callable[[], dict[str, dict[str, Any]]]


CONFIGS = [
    Config(
        "coder 0.5B (the default)",
        {"model": "coder"},
        lambda: {"n-gram": {"model": "coder", "speculative": "ngram"}},
    ),
    Config(
        "coder 1.5B",
        {"model": "coder-1.5b"},
        lambda: {
            "n-gram": {"model": "coder-1.5b", "speculative": "ngram"},
            "0.5B": {"model": "coder-1.5b", "draft_model": coder_model_path(_quiet)},
        },
    ),
]


@dataclass
class Runs:
    speeds: list[float] = field(default_factory=list)
    drafts: int = 0
    accepted: int = 0
    tokens: list[int] = field(default_factory=list)

    def add(self, timings: dict[str, Any]) -> None:
        self.speeds.append(float(timings["predicted_per_second"]))
        self.tokens.append(int(timings["predicted_n"]))
        self.drafts += int(timings.get("draft_n", 0))
        self.accepted += int(timings.get("draft_n_accepted", 0))

    def line(self, label: str) -> str:
        speeds = self.speeds
        drafts = f", drafts accepted {self.accepted}/{self.drafts}" if label != PLAIN else ""
        return (
            f"    {label:8} median {statistics.median(speeds):5.1f} tokens/s "
            f"(min–max {min(speeds):.1f}–{max(speeds):.1f}, {statistics.median(self.tokens):.0f} "
            f"tokens{drafts})"
        )


PLAIN = "plain"


def _quiet(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _serve(options: dict[str, Any]) -> LlamaServer:
    return LlamaServer(parallel=1, threads=1, progress=_quiet, **options)


def run_config(config: Config, repeats: int) -> None:
    print(f"\n  {config.name}")
    options = {PLAIN: config.plain, **config.drafted()}
    with ExitStack() as stack:
        servers = {label: stack.enter_context(_serve(o)) for label, o in options.items()}
        runs = {(p.kind, label): Runs() for p in PROMPTS for label in servers}
        answers = {}
        for round_ in range(repeats + 1):  # round 0 warms every server up
            for prompt in PROMPTS:
                for label, server in servers.items():
                    llm = ChatZenLlama(
                        base_url=server.base_url,
                        temperature=0,
                        seed=7,
                        max_tokens=prompt.max_tokens,
                    )
                    answer = llm.invoke(prompt.text)
                    answers[prompt.kind, label] = str(answer.content)
                    if round_:
                        runs[prompt.kind, label].add(answer.response_metadata["timings"])
    for prompt in PROMPTS:
        what = prompt.check(answers[prompt.kind, PLAIN])
        print(f"   {prompt.kind}{f' (the model {what})' if what else ''}:")
        plain = statistics.median(runs[prompt.kind, PLAIN].speeds)
        for label in servers:
            ratio = statistics.median(runs[prompt.kind, label].speeds) / plain
            speedup = f", {ratio:.2f}x plain" if label != PLAIN else ""
            print(runs[prompt.kind, label].line(label) + speedup)


def main(base_url: str, repeats: int) -> None:  # base_url: unused, starts its own servers
    print(
        f"\nspeculative decoding (real llama-server, 1 thread each, medians of {repeats} "
        "interleaved runs after a warm-up)"
    )
    for config in CONFIGS:
        run_config(config, repeats)
