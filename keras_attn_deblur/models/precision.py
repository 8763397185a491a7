"""One dtype switch for models: the same network and weights under another dtype policy.

Training (mixed precision), inference (`precision="bfloat16"`), export (float32
graphs), distribution (a single-device copy) and the Hub (an uncompiled copy)
all rebuild a model the same way: its config with another `dtype`, then its
weights. This module is that one way, as keras-hub's `set_dtype_in_config`.
"""

# The names users pass (`precision=`, `mixed_precision=`, `--precision`) and
# the Keras dtype policy each means; `None` keeps the model's own policy.
PRECISION_POLICIES = {
    None: None,
    "float32": "float32",
    "bfloat16": "mixed_bfloat16",
    "mixed_bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
    "mixed_float16": "mixed_float16",
}


def policy_for(precision, *, name="precision", choices=None):
    """The Keras dtype policy name that `precision` means (None keeps the model's).

    Args:
        precision: str or None. A key of `PRECISION_POLICIES`.
        name: str. The argument's name, for the error message.
        choices: iterable of str or None. The names this caller accepts
            (a subset of `PRECISION_POLICIES`). Defaults to all of them.

    Raises:
        ValueError: `precision` is not one of `choices`.
    """
    allowed = list(PRECISION_POLICIES if choices is None else choices)
    if precision not in allowed or precision not in PRECISION_POLICIES:
        raise ValueError(f"`{name}` must be one of {allowed}. Received: {name}={precision!r}")
    return PRECISION_POLICIES[precision]


def with_dtype(model, policy=None, *, rebuild=False):
    """`model` computing under `policy`, with its weights; the model itself when nothing changes.

    Args:
        model: `keras.Model` whose config round-trips (e.g. `AttnDeblurNet`).
        policy: str or None. A Keras dtype policy name (`"float32"`,
            `"mixed_bfloat16"`, ...). `None` keeps the model's policy.
        rebuild: bool. Return a fresh copy even when the policy is already
            the model's (an uncompiled copy, or one built outside a
            distribution scope). Defaults to `False`.

    Returns:
        A `keras.Model` of the same class and weights.
    """
    if not rebuild and (policy is None or model.dtype_policy.name == policy):
        return model
    config = model.get_config()
    if policy is not None:
        config = {**config, "dtype": policy}
    rebuilt = type(model).from_config(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt
