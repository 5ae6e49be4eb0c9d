"""What an exported network of integer ids takes, and whether the graph gives
it them as they are sent (as its own integers) or as float32 columns."""

import numpy as np

from .._tf import keras


def graph_ids(plan, needs, features, network, takes):
    """(The ids of the network as :func:`network_ids` records them, or None;
    whether the graph takes them as its own integers): where each column the
    graph reads reaches the network as it is (found in review: not one a second
    ColumnTransformer drops), every column where they are one matrix (found in
    review: not a float column dropped). Where some do and others not, or a
    step changes the others (a OneHotEncoder beside), the graph takes float32
    columns, and the record names (``columns``) those that reach it, for
    ExportedModel to check those alone (found in review: 1.7 and -1 were
    answered there, which the pipeline refuses); None where none does."""
    ids, reached = network_ids(network, takes), plan.sources(len(needs))
    if ids is None:
        return None, False
    read = range(len(needs)) if plan.transparent else [
        i for i, need in enumerate(needs) if need is not None]
    if reached is not None and set(reached) == set(read) and (
            features is not None or len(read) == len(needs)):
        return ids, True
    passed = plan.passed(len(needs))  # (those reached, where every node only selects)
    if not passed & set(read):
        return None, False
    ids["columns"] = [i if features is None else str(features[i])
                      for i in sorted(passed & set(read))]
    return ids, False


def network_ids(network, takes):
    """What a network of an integer input takes, for a server to refuse other
    values before the graph casts them (found in an audit: an exported
    Embedding's network answered 1.7 as id 1, and -1, which its estimator
    refuses): {"dtype", "rows", "lookup"}, rows those of the Embedding reading
    it (or None), lookup whether a layer of it may read them as ids, whatever
    stands between (whose float32 rounding past 2**24 gives other ids; found
    in review: one behind a Reshape was missed): any lookup layer counts, so
    that numbers past 2**24 beside ids in one input are refused too (the
    README's advice: subtract an offset); None for ``takes``, its input dtype, a float."""
    from .._engine._layers import all_layers
    from .._engine._predict import input_kinds

    dtype = np.dtype(takes)
    if dtype.kind not in "iu" or len(getattr(network, "inputs", None) or ()) != 1:
        return None
    rows = input_kinds(network).ids
    ids = (keras.layers.Embedding, keras.layers.IntegerLookup, keras.layers.Hashing,
           keras.layers.CategoryEncoding)
    lookup = any(isinstance(layer, ids) for layer in all_layers(network))
    return {"dtype": dtype.name, "rows": None if rows is None else int(rows), "lookup": lookup}
