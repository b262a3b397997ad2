"""Write the bundled sample data set: AG-News-style news rows that the project makes itself.

    python scripts/make_sample.py [--out data/sample] [--train 2400] [--test 400] [--seed 2015]

Rows are ``"class","title","description"`` with 1-based classes 1 World, 2 Sports, 3 Business,
4 Sci/Tech, balanced over the classes. Every sentence is assembled from templates and word lists
in this file, so no corpus is copied. Each class has its own vocabulary and phrasing, with a share
of neutral wording mixed in, so a character-level CNN can learn it in a few minutes on a CPU but
not in one step. The output is deterministic for a given seed (a test regenerates and compares).
"""
import argparse
import csv
import random
from pathlib import Path

CLASS_NAMES = ("World", "Sports", "Business", "Sci/Tech")

WORDS = {
    "World": {
        "who": ["the prime minister", "rebel leaders", "the foreign ministry", "UN envoys", "the president",
                "opposition parties", "peace negotiators", "border officials", "the army", "aid agencies"],
        "where": ["Iraq", "Sudan", "Kashmir", "Gaza", "Ukraine", "Haiti", "Nepal", "Chechnya", "Darfur",
                  "North Korea", "Lebanon", "Afghanistan", "Venezuela", "Zimbabwe"],
        "what": ["a ceasefire", "the election results", "a refugee crisis", "new sanctions", "the peace treaty",
                 "troop withdrawals", "a state of emergency", "the hostage talks", "a referendum", "the coup"],
        "verb": ["condemned", "rejected", "welcomed", "debated", "announced", "postponed", "signed", "protested"],
    },
    "Sports": {
        "who": ["the Yankees", "Red Sox fans", "the coach", "the striker", "Olympic champions", "the quarterback",
                "the home side", "the defending champion", "the captain", "the rookie pitcher"],
        "where": ["Athens", "Fenway Park", "Wimbledon", "the Super Bowl", "the Ryder Cup", "Old Trafford",
                  "the World Series", "the Tour de France", "the NBA finals", "the Olympic stadium"],
        "what": ["a late goal", "the playoff series", "a hat trick", "the gold medal", "overtime", "a knee injury",
                 "the title race", "a no-hitter", "the semifinal", "a world record"],
        "verb": ["won", "lost", "clinched", "scored", "defeated", "tied", "edged", "routed"],
    },
    "Business": {
        "who": ["shareholders", "the central bank", "Wall Street", "the retailer", "oil producers", "investors",
                "the airline", "the chief executive", "analysts", "regulators"],
        "where": ["the Nasdaq", "the Dow", "OPEC", "the Fed", "the euro zone", "Tokyo markets", "the bond market",
                  "the housing market", "the S&P 500", "the IMF"],
        "what": ["quarterly profit", "interest rates", "a merger", "crude prices", "job cuts", "the stock price",
                 "earnings forecasts", "a takeover bid", "consumer spending", "the trade deficit"],
        "verb": ["raised", "cut", "reported", "forecast", "acquired", "slashed", "beat", "missed"],
    },
    "Sci/Tech": {
        "who": ["researchers", "NASA scientists", "software makers", "hackers", "the chip maker", "astronomers",
                "Microsoft engineers", "Google", "the open-source community", "biologists"],
        "where": ["Mars", "the space station", "Silicon Valley", "the Linux kernel", "the web", "the genome",
                  "Saturn's moon Titan", "the lab", "wireless networks", "the Hubble telescope"],
        "what": ["a new processor", "a security flaw", "the search engine", "a software update", "broadband access",
                 "a spam filter", "the rover", "a stem cell study", "a faster browser", "climate data"],
        "verb": ["released", "patched", "discovered", "launched", "unveiled", "tested", "cloned", "upgraded"],
    },
}

TITLES = [
    "{Who} {verb} {what}",
    "{Where}: {who} {verb} {what}",
    "{What} {verb} in {where}",
    "{Who} {verb} {what} ({source})",
    "Update: {who} {verb} {what} at {where}",
]

SENTENCES = [
    "{Who} {verb} {what} on {day}, {source} reported.",
    "In {where}, {who} {verb} {what} after weeks of speculation.",
    "{What} {verb} by {who} drew attention in {where}.",
    "Officials said {who} {verb} {what}, and more news is expected from {where}.",
    "{Who} in {where} {verb} {what} late on {day}.",
    "The move by {who} follows {what} earlier this year.",
]

NEUTRAL = [
    "Details were not immediately available.",
    "The announcement came on {day}.",
    "More information is expected later this week.",
    "It was not clear what would happen next.",
]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SOURCES = ["Reuters", "AP", "AFP", "a newswire", "local media", "the agency"]


def fill(template, words, rng):
    """Fill a template's slots from a class's word lists (capitalised slots start a sentence)."""
    values = {key: rng.choice(choices) for key, choices in words.items()}
    values.update(day=rng.choice(DAYS), source=rng.choice(SOURCES))
    values.update({key.capitalize(): value[0].upper() + value[1:] for key, value in values.items()})
    return template.format(**values)


def make_row(label, rng):
    """One (1-based class, title, description) row for class index ``label`` (0-based)."""
    words = WORDS[CLASS_NAMES[label]]
    title = fill(rng.choice(TITLES), words, rng)
    sentences = [fill(rng.choice(SENTENCES), words, rng) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        sentences.insert(rng.randint(0, len(sentences)), fill(rng.choice(NEUTRAL), words, rng))
    return str(label + 1), title, " ".join(sentences)


def make_split(count, rng):
    """``count`` rows balanced over the classes, in shuffled order."""
    labels = [i % len(CLASS_NAMES) for i in range(count)]
    rng.shuffle(labels)
    return [make_row(label, rng) for label in labels]


def write(path, rows):
    """Write rows as AG News does: every field quoted, LF line endings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)


def generate(argv, description, folder, train, test, make_split, class_names):
    """The command line both generators share: parse ``argv``, write the two splits and classes.txt."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / folder)
    parser.add_argument("--train", type=int, default=train, help=f"training rows (default {train})")
    parser.add_argument("--test", type=int, default=test, help=f"test rows (default {test})")
    parser.add_argument("--seed", type=int, default=2015)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    write(args.out / "train.csv", make_split(args.train, rng))
    write(args.out / "test.csv", make_split(args.test, rng))
    (args.out / "classes.txt").write_text("\n".join(class_names) + "\n", encoding="utf-8")
    print(f"wrote {args.train} training and {args.test} test rows to {args.out}")


def main(argv=None):
    generate(argv, __doc__.splitlines()[0], "sample", 2400, 400, make_split, CLASS_NAMES)


if __name__ == "__main__":
    main()
