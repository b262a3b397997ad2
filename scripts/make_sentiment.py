"""Write the bundled sentiment sample: short product reviews, negative or positive, made by the project.

    python scripts/make_sentiment.py [--out data/sentiment] [--train 1600] [--test 400] [--seed 2015]

Rows are ``"class","title","review"`` with 1 = negative and 2 = positive, balanced. Every sentence is
assembled from the templates and word lists below, so no corpus is copied. About a third of the
opinions are negated ("the zip is not flimsy" in a positive review, "the battery is not reliable" in
a negative one), so the same opinion word turns up under both labels: a model has to read the word
*before* it, which one bag of words cannot do and a convolution of width 2 or more can. The output is
deterministic for a given seed (a test regenerates and compares).
"""
from make_sample import generate

CLASS_NAMES = ("negative", "positive")

PRODUCTS = ["kettle", "pair of headphones", "blender", "backpack", "phone case", "desk lamp", "keyboard", "toaster",
            "charger", "pair of running shoes", "tent", "coffee grinder", "umbrella", "office chair", "speaker"]
PARTS = ["battery", "sound", "handle", "zip", "screen", "lid", "cable", "fit", "motor", "switch", "strap",
         "button", "fabric", "base"]
GOOD = ["great", "excellent", "reliable", "comfortable", "sturdy", "quiet", "lovely", "perfect", "solid", "handy"]
BAD = ["awful", "flimsy", "useless", "noisy", "broken", "disappointing", "terrible", "faulty", "fragile", "poor"]
PRAISE = ["I would buy it again.", "Worth every penny.", "My whole family uses it.", "It arrived early, too."]
BLAME = ["I sent it back.", "A waste of money.", "Support never answered.", "It stopped working within a week."]
OPINIONS = [
    "The {part} is {word}.",
    "The {part} feels {word}.",
    "This {product} is {word}.",
    "Honestly, the {part} is {word}.",
]
NEGATED = [
    "The {part} is not {word}.",
    "This {product} is not {word} at all.",
    "The {part} never felt {word}.",
]
TITLES = ["My new {product}", "About this {product}", "{Product} review", "After a month with the {product}"]
NEUTRAL = ["I bought it for my flat.", "It came in a cardboard box.", "I use it most days.",
           "It was a present for my brother."]


def opinion(positive, rng, product):
    """One sentence leaning ``positive`` (or not): a plain opinion, or a negated one of the opposite."""
    part = rng.choice(PARTS)
    if rng.random() < 1 / 3:
        template, word = rng.choice(NEGATED), rng.choice(BAD if positive else GOOD)
    else:
        template, word = rng.choice(OPINIONS), rng.choice(GOOD if positive else BAD)
    return template.format(part=part, product=product, word=word)


def make_row(label, rng):
    """One (1-based class, title, review) row for class index ``label`` (0 negative, 1 positive)."""
    positive = label == 1
    product = rng.choice(PRODUCTS)
    title = rng.choice(TITLES).format(product=product, Product=product[0].upper() + product[1:])
    sentences = [opinion(positive, rng, product) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.5:
        sentences.insert(rng.randint(0, len(sentences)), rng.choice(NEUTRAL))
    if rng.random() < 0.3:
        sentences.append(rng.choice(PRAISE if positive else BLAME))
    return str(label + 1), title, " ".join(sentences)


def make_split(count, rng):
    """``count`` rows balanced over the two classes, in shuffled order."""
    labels = [i % len(CLASS_NAMES) for i in range(count)]
    rng.shuffle(labels)
    return [make_row(label, rng) for label in labels]


def main(argv=None):
    generate(argv, __doc__.splitlines()[0], "sentiment", 1600, 400, make_split, CLASS_NAMES)


if __name__ == "__main__":
    main()
