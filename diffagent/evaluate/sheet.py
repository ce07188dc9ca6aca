"""An HTML side-by-side sheet for a user study like the paper's (section 4.3).

Each pair shows a prompt and two images, one from a DiffAgent system and one from Baseline, in a
seeded random order so the rater cannot tell which is which; for each of two questions (relevance
to the prompt, overall preference) the rater picks left, tie or right. Choices stay in the
browser's localStorage and are saved as a downloadable JSON file; `tally_choices` turns such files
into win rates. The sheet is one HTML file plus an `images/` folder beside it, so it can be zipped
and sent as it is.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd

from diffagent.storage import ArtifactStore
from schemas.evaluation import DATASETS

QUESTIONS: dict[str, str] = {
    "relevance": "Which image matches the prompt better?",
    "preference": "Which image do you prefer overall?",
}
CHOICES: tuple[str, ...] = ("left", "tie", "right")


@dataclass(frozen=True)
class SheetPair:
    pair_id: str
    prompt: str
    left_system: str
    left_image: str  # relative to the sheet
    right_system: str
    right_image: str


def study_pairs(
    scores: pd.DataFrame, system: str, per_architecture: int, seed: int = 0, image_seed: int | None = None
) -> pd.DataFrame:
    """Prompts for the study: `per_architecture` per architecture, spread evenly over the data sets.

    Returns one row per pair with architecture, dataset, prompt_id, prompt, system_image and
    baseline_image (the image of the first seed, or `image_seed`).
    """
    image_seed = int(scores["seed"].min()) if image_seed is None else image_seed
    shown = scores[scores["seed"] == image_seed]
    ours = shown[shown["system"] == system].set_index(["architecture", "dataset", "prompt_id"])
    base = shown[shown["system"] == "baseline"].set_index(["architecture", "dataset", "prompt_id"])
    both = ours.index.intersection(base.index)
    if both.empty:
        raise ValueError(f"no prompt has both a {system!r} and a baseline image for seed {image_seed}")
    rng = np.random.default_rng(seed)
    rows = []
    for architecture in sorted({k[0] for k in both}):
        keys = [k for k in both if k[0] == architecture]
        sets = [d for d in DATASETS if d in {k[1] for k in keys}]  # DABench first, as in the tables
        quota = {
            d: per_architecture // len(sets) + (i < per_architecture % len(sets)) for i, d in enumerate(sets)
        }
        for dataset in sets:
            candidates = sorted(k for k in keys if k[1] == dataset)
            take = min(quota[dataset], len(candidates))
            for index in sorted(rng.choice(len(candidates), size=take, replace=False)):
                key = candidates[int(index)]
                rows.append(
                    {
                        "architecture": architecture,
                        "dataset": dataset,
                        "prompt_id": key[2],
                        "prompt": ours.loc[key, "prompt"],
                        "system_image": ours.loc[key, "image_path"],
                        "baseline_image": base.loc[key, "image_path"],
                    }
                )
    return pd.DataFrame(rows)


def write_sheet(pairs: pd.DataFrame, system: str, out_dir: str | Path, seed: int = 0, title: str = "") -> str:
    """Copy the images beside `out_dir/sheet.html` (a folder or fsspec URL) and write the sheet;
    returns its location."""
    store = ArtifactStore(str(out_dir))
    rng = np.random.default_rng(seed)
    shown: list[SheetPair] = []
    for number, row in enumerate(pairs.itertuples()):
        pair_id = f"{row.architecture}|{row.dataset}|{row.prompt_id}"
        sides = [(system, row.system_image), ("baseline", row.baseline_image)]
        if rng.random() < 0.5:  # which side the agent's image takes is a coin flip per pair
            sides.reverse()
        names = []
        for side, (who, source) in zip(("a", "b"), sides, strict=True):
            name = f"images/{number:04d}{side}.png"  # neutral names: the file name must not tell
            with fsspec.open(str(source), "rb") as handle:
                store.write_bytes(name, handle.read())
            names.append((who, name))
        shown.append(SheetPair(pair_id, str(row.prompt), names[0][0], names[0][1], names[1][0], names[1][1]))
    store.write_bytes("sheet.html", render_html(shown, title or f"{system} vs baseline").encode())
    return store.url("sheet.html")


def render_html(pairs: list[SheetPair], title: str) -> str:
    cards = []
    for number, pair in enumerate(pairs):
        questions = []
        for key, text in QUESTIONS.items():
            buttons = "".join(
                f'<label><input type="radio" name="{number}-{key}" value="{choice}"> {choice}</label> '
                for choice in CHOICES
            )
            questions.append(f"<p>{html.escape(text)} {buttons}</p>")
        cards.append(
            f'<section class="pair" data-index="{number}"><h3>{number + 1}. {html.escape(pair.prompt)}</h3>'
            f'<div class="images"><img src="{pair.left_image}" alt="left"><img src="{pair.right_image}" '
            f'alt="right"></div>{"".join(questions)}</section>'
        )
    key = json.dumps([asdict(p) for p in pairs]).replace("</", "<\\/")
    return _PAGE.format(title=html.escape(title), cards="\n".join(cards), key=key)


def tally_choices(choice_files: list[Path], system: str) -> dict[str, dict[str, float]]:
    """Win rates of `system` against baseline per question from saved sheets: ties counted half,
    and ties excluded (the paper's Fig. 5), with the counts."""
    counts: dict[str, dict[str, int]] = {q: {"win": 0, "tie": 0, "loss": 0} for q in QUESTIONS}
    for file in choice_files:
        for answer in json.loads(Path(file).read_text())["choices"]:
            winner = answer["winner"]
            outcome = "tie" if winner == "tie" else ("win" if winner == system else "loss")
            counts[answer["question"]][outcome] += 1
    result = {}
    for question, c in counts.items():
        total, decided = sum(c.values()), c["win"] + c["loss"]
        result[question] = {
            **{k: float(v) for k, v in c.items()},
            "win_rate_ties_half": (c["win"] + 0.5 * c["tie"]) / total if total else float("nan"),
            "win_rate_ties_excluded": c["win"] / decided if decided else float("nan"),
        }
    return result


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: auto; }}
.pair {{ border-bottom: 1px solid #ccc; padding: 1em 0; }}
.images img {{ width: 48%; margin: 0 1%; image-rendering: auto; }}
</style></head>
<body><h1>{title}</h1>
<p>For each prompt, pick the better image (or tie) for each question. Choices are kept in this
browser; press "Save choices" to download them as JSON and send the file back.</p>
<p>Rater name: <input id="rater"></p>
{cards}
<p><button id="save">Save choices</button> <span id="progress"></span></p>
<script id="key" type="application/json">{key}</script>
<script>
const pairs = JSON.parse(document.getElementById("key").textContent);
const storage = "diffagent-sheet:" + document.title;
const saved = JSON.parse(localStorage.getItem(storage) || "{{}}");
for (const [name, value] of Object.entries(saved)) {{
  const input = document.querySelector(`input[name="${{name}}"][value="${{value}}"]`);
  if (input) input.checked = true;
}}
function progress() {{
  const done = document.querySelectorAll("input[type=radio]:checked").length;
  document.getElementById("progress").textContent = `${{done}} / ${{pairs.length * 2}} answered`;
}}
document.addEventListener("change", (event) => {{
  if (event.target.type !== "radio") return;
  saved[event.target.name] = event.target.value;
  localStorage.setItem(storage, JSON.stringify(saved));
  progress();
}});
document.getElementById("save").addEventListener("click", () => {{
  const choices = [];
  for (const [name, choice] of Object.entries(saved)) {{
    const [index, question] = name.split("-");
    const pair = pairs[Number(index)];
    const winner = choice === "tie" ? "tie" : (choice === "left" ? pair.left_system : pair.right_system);
    choices.push({{pair_id: pair.pair_id, question, choice, winner,
                   left_system: pair.left_system, right_system: pair.right_system}});
  }}
  const body = JSON.stringify({{rater: document.getElementById("rater").value, choices}}, null, 1);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([body], {{type: "application/json"}}));
  link.download = "choices.json";
  link.click();
}});
progress();
</script></body></html>
"""
