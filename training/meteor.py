#!/usr/bin/env python3
"""METEOR for region captions with nltk's ``meteor_score`` (Debian python3-nltk).

Reads JSON from stdin: {"pairs": [{"prediction": str, "reference": str}, ...]} and prints
{"meteor": mean, "n": count, "scores": [per pair], "matching": ...}. Unlike the reference evaluation code, which passes the
prediction as the reference and the ground truth as the hypothesis, the ground truth is the reference
here and the prediction the hypothesis. Synonym matching uses WordNet 3.0 from Debian's wordnet-base
when installed; otherwise only exact and stem matches count, and the output says so.
"""
import json
import os
import sys
import tempfile

WORDNET_DIR = "/usr/share/wordnet"
# The lexicographer file table of WordNet 3.0; Debian's wordnet-base omits this small file that nltk's
# reader opens at start-up (it is only used for Synset.lexname()).
LEXNAMES = ["adj.all 3", "adj.pert 3", "adv.all 4", "noun.Tops 1", "noun.act 1", "noun.animal 1", "noun.artifact 1",
            "noun.attribute 1", "noun.body 1", "noun.cognition 1", "noun.communication 1", "noun.event 1",
            "noun.feeling 1", "noun.food 1", "noun.group 1", "noun.location 1", "noun.motive 1", "noun.object 1",
            "noun.person 1", "noun.phenomenon 1", "noun.plant 1", "noun.possession 1", "noun.process 1",
            "noun.quantity 1", "noun.relation 1", "noun.shape 1", "noun.state 1", "noun.substance 1", "noun.time 1",
            "verb.body 2", "verb.change 2", "verb.cognition 2", "verb.communication 2", "verb.competition 2",
            "verb.consumption 2", "verb.contact 2", "verb.creation 2", "verb.emotion 2", "verb.motion 2",
            "verb.perception 2", "verb.possession 2", "verb.social 2", "verb.stative 2", "verb.weather 2", "adj.ppl 3"]


class _NoWordnet:
    def synsets(self, *args, **kwargs):
        return []


def load_wordnet():
    if not os.path.exists(os.path.join(WORDNET_DIR, "data.noun")):
        return _NoWordnet(), "exact+stem (WordNet not installed: apt-get install wordnet-base)"
    import warnings
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    root = tempfile.mkdtemp(prefix="wordnet-")
    for name in os.listdir(WORDNET_DIR):
        os.symlink(os.path.join(WORDNET_DIR, name), os.path.join(root, name))
    if not os.path.exists(os.path.join(root, "lexnames")):
        with open(os.path.join(root, "lexnames"), "w") as fh:
            fh.writelines(f"{i:02d}\t{n.split()[0]}\t{n.split()[1]}\n" for i, n in enumerate(LEXNAMES))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WordNetCorpusReader(root, None), "exact+stem+synonym (WordNet 3.0, Debian wordnet-base)"


def main() -> int:
    from nltk.translate.meteor_score import meteor_score

    data = json.load(sys.stdin)
    wordnet, matching = load_wordnet()
    scores = [meteor_score([p["reference"].split()], p["prediction"].split(), wordnet=wordnet) for p in data["pairs"]]
    print(json.dumps({"meteor": sum(scores) / len(scores) if scores else 0.0, "n": len(scores), "scores": scores,
                      "matching": matching,
                      "order": "reference = ground truth, hypothesis = prediction"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
