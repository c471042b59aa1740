"""The paper's published numbers, in one place (Wen, Yiu, Hui, IEEE CSR 2021).

Printed beside ours by the CLI and the results chapter. Accuracies are fractions;
"conf. dist." is the paper's confidence distortion, which we read as the mean
absolute logit change per entry; "recon. err." is per-pixel MSE.
"""

TABLE_I = {
    "mnist": {
        "none": {"accuracy": 0.9896, "logit_distortion": 0.0, "mse": 0.0096},
        "ppf": {"accuracy": 0.9667, "logit_distortion": 0.4156, "mse": 0.0544},
        "mid": {"accuracy": 0.7583, "logit_distortion": 1.8206, "mse": 0.0604},
        "ours": {"accuracy": 0.9896, "logit_distortion": 0.4762, "mse": 0.0663},
    },
    "facescrub": {
        "none": {"accuracy": 0.8152, "logit_distortion": 0.0, "mse": 0.0126},
        "ppf": {"accuracy": 0.6971, "logit_distortion": 3.106, "mse": 0.1256},
        "mid": {"accuracy": 0.5562, "logit_distortion": 4.716, "mse": 0.0446},
        "ours": {"accuracy": 0.8152, "logit_distortion": 2.2352, "mse": 0.2453},
    },
}

TABLE_II_FACESCRUB = {
    "none": {"logit_distortion": 0.0, "mse": 0.0126},
    "ours": {"logit_distortion": 2.2352, "mse": 0.0271},
    "adv_defense": {"logit_distortion": 2.738, "mse": 0.1657},
    "high_distortion": {"logit_distortion": 3.888, "mse": 0.0562},
}

HYPERPARAMETERS = {"mnist": {"eta": 0.1, "steps": 10},
                   "facescrub": {"eta": 0.4, "steps": 10},
                   "high_distortion": {"eta": 1.0, "steps": 10}}


def paper_row(dataset: str, defense: str) -> dict | None:
    """The paper's Table I row for ``dataset`` (``"mnist"``/``"facescrub"``), or
    ``None`` when the paper has no such row."""
    return TABLE_I.get(dataset, {}).get(defense)
