"""Task prompts and answer formats of the reference (eval scripts and training templates).

The export writes the inference-time prompts into config.json so the engine asks exactly what the model
was trained on.
"""
from __future__ import annotations

SEGMENT_PROMPT = "Please segment {expression} in this image."
SEGMENT_ANSWER = "It is [SEG]."
NO_TARGET_ANSWER = "No target [SEG]."
CAPTION_PROMPT = ("Can you provide me with a detailed description of the region in the picture marked by {region}? "
                  "Please provide as detailed as possible.")
CAPTION_ANSWER = "{region}: {caption}"
MCQ_PROMPT = "Please answer the question according to the {region}. {question}Select a correct choice."
MCQ_OPTIONS = "{question} Options: {options}. "
ABSENT_REGION_ANSWER = "{region} is not in the image."

# Training variety (the reference draws from 16 templates; a few of the same kind).
SEGMENT_TEMPLATES = [
    SEGMENT_PROMPT,
    "Can you segment {expression} in this image?",
    "What is {expression} in this image? Please output segmentation mask.",
    "Please identify and segment {expression}.",
]
SEGMENT_ANSWERS = ["It is [SEG].", "Sure, [SEG].", "Sure, it is [SEG].", "Sure, the segmentation result is [SEG].", "[SEG]."]


def mcq_question(region: str, question: str, choices) -> str:
    """The PerBench MCQ prompt with the options spelled out as "A. x B. y ..."."""
    options = " ".join(f"{chr(65 + i)}. {c}" for i, c in enumerate(choices))
    return MCQ_PROMPT.format(region=region, question=MCQ_OPTIONS.format(question=question, options=options))


def mcq_answer(choices, answer: str) -> str:
    return f"{chr(65 + list(choices).index(answer))}. {answer}"


def engine_prompts() -> dict:
    """Prompt templates the engine uses, written to config.json."""
    return {
        "segment": SEGMENT_PROMPT,
        "segmentAnswerPrefix": SEGMENT_ANSWER,
        "noTargetMarker": "No target",
        "caption": CAPTION_PROMPT,
        "mcq": MCQ_PROMPT,
        "mcqOptions": MCQ_OPTIONS,
        "regionToken": "<Prompt{k}>",
    }


def base_corpus() -> list:
    """Text every tokenizer must cover well: the templates and answers above."""
    texts = SEGMENT_TEMPLATES + SEGMENT_ANSWERS + [NO_TARGET_ANSWER, CAPTION_PROMPT, MCQ_PROMPT, ABSENT_REGION_ANSWER]
    return [t.replace("{expression}", "the object").replace("{region}", "<Prompt0>").replace("{question}", "What is it? ")
            .replace("{caption}", "a shape") for t in texts]
