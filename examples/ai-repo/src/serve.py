"""Serve the classifier."""

import torch
import yaml
from transformers import AutoModelForSequenceClassification


def load_config(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def load_checkpoint(path):
    return torch.load(path, weights_only=True)


def model():
    return AutoModelForSequenceClassification.from_pretrained(
        "acme/support-classifier", revision="3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091"
    )
