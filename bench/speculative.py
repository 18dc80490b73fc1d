"""Speculative decoding on the real llama-server, told as it is: medians of interleaved runs.

Each model runs side by side plain and with each kind of drafting (n-gram drafts from the context;
a smaller model of the same family); the servers answer the same requests in turns (plain,
drafted, plain, …), so load from elsewhere on the machine slows them alike. Two kinds of answer:
- copying: a code edit (rename a variable in a 45-line function): the answer repeats its prompt,
  so drafts taken from the context (n-grams) or from a small model mostly hold;
- free-form: an explanation, where the prompt has nothing to copy.
Speed is llama-server's own `timings.predicted_per_second` (median of the rounds, min–max);
drafts accepted/total are `timings.draft_n_accepted` / `draft_n` (summed over the runs).
Temperature 0: the drafted answer is the plain one, only faster or slower. One thread per
server (a shared machine).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from zenllama.langchain import ChatZenLlama
from zenllama.local import LlamaServer, coder_model_path, find_llama_server

from .tables import NotRun, Table
from .timing import Case, measure

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
class Drafts:
    """Drafts accepted / drafted, summed over the timed runs of one server and prompt."""

    drafted: int = 0
    accepted: int = 0
    answer: str = ""

    def figures(self, got: tuple[str, dict[str, Any]]) -> dict[str, float]:
        self.answer, timings = got
        self.drafted += int(timings.get("draft_n", 0))
        self.accepted += int(timings.get("draft_n_accepted", 0))
        return {
            "tokens/s": float(timings["predicted_per_second"]),
            "tokens": timings["predicted_n"],
        }


PLAIN = "plain"
ANSWER_SECONDS = 1800.0


def _quiet(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _serve(options: dict[str, Any]) -> LlamaServer:
    return LlamaServer(parallel=1, threads=1, progress=_quiet, **options)


def _ask(server: LlamaServer, prompt: Prompt) -> Callable[[], tuple[str, dict[str, Any]]]:
    # A 1.5B model on one thread of a loaded machine can take minutes for 700 tokens.
    llm = ChatZenLlama(
        base_url=server.base_url,
        temperature=0,
        seed=7,
        max_tokens=prompt.max_tokens,
        timeout=ANSWER_SECONDS,
    )

    def run() -> tuple[str, dict[str, Any]]:
        answer = llm.invoke(prompt.text)
        return str(answer.content), answer.response_metadata["timings"]

    return run


def run_config(config: Config, repeats: int) -> Iterator[Table]:
    options = {PLAIN: config.plain, **config.drafted()}
    with ExitStack() as stack:
        servers = {label: stack.enter_context(_serve(o)) for label, o in options.items()}
        drafts = {(p.kind, label): Drafts() for p in PROMPTS for label in servers}
        cases = [
            Case(
                label,
                "no drafting" if label == PLAIN else f"{label} drafts",
                _ask(server, prompt),
                "peer" if label == PLAIN else "zenllama",
                figures=drafts[prompt.kind, label].figures,
            )
            for prompt in PROMPTS
            for label, server in servers.items()
        ]
        # Rows are keyed by label: one set per prompt, every server in turns within it.
        by_prompt = [cases[i * len(servers) : (i + 1) * len(servers)] for i in range(len(PROMPTS))]
        for prompt, prompt_cases in zip(PROMPTS, by_prompt, strict=True):
            rows = measure(prompt_cases, repeats, min_seconds=0)
            notes = []
            what = prompt.check(drafts[prompt.kind, PLAIN].answer)
            if what:
                notes.append(f"the model {what}")
            for label in servers:
                if label != PLAIN:
                    d = drafts[prompt.kind, label]
                    notes.append(f"{label}: drafts accepted {d.accepted}/{d.drafted}")
            tokens = rows[PLAIN].median("tokens")
            yield (
                Table(
                    "speculative",
                    f"{config.name}, {prompt.kind}, ~{tokens:.0f} tokens",
                    "tokens/s",
                    list(rows.values()),
                    metric="tokens/s",
                    scale=1,
                    peers=[PLAIN],
                    higher_is_better=True,
                    notes=notes,
                )
            )


def require_llama_server() -> None:
    """NotRun where no llama-server is built: the bench never starts a build of its own."""
    try:
        find_llama_server(build=False)
    except FileNotFoundError as exc:
        raise NotRun(str(exc)) from exc


def main(base_url: str, repeats: int) -> Iterator[Table]:  # base_url: unused: own servers
    require_llama_server()
    for config in CONFIGS:
        yield from run_config(config, repeats)
