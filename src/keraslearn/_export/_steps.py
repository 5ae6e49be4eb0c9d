"""The preprocessing of a pipeline as a plan of Keras layers.

Data flows through the plan as a :class:`Frame`: the raw input columns, each
in its own dtype (numbers, strings), or a float32 matrix once a transformer
has produced one. A plan node is a step (one fitted transformer as a Keras
layer), an identity, a sequence of nodes (a pipeline), or a column split
(a ``ColumnTransformer``).

Each node also says what it needs of the raw columns it reads first
(:meth:`needs`): a string column for a one-hot encoder fitted on strings, a
number otherwise. The exported model's inputs take their dtypes from there,
since a fitted pipeline does not keep the dtypes of the columns it saw. A
node that only selects columns (``keeps_values``) says which of its input
columns each of its outputs is (:meth:`sources`; None for any other node):
ids reaching the network so are taken as its own integers. Any node says
which of its input columns it gives as they are, wherever (:meth:`passed`).
"""

from dataclasses import dataclass, field

from .._tf import tf


@dataclass(frozen=True)
class Need:
    """What a node requires of one raw input column.

    ``dtype`` is ``"float32"`` or ``"string"``; ``examples`` are values the
    column may hold (a string encoder's categories), used to probe the
    exported artifact.
    """

    dtype: str
    examples: tuple = field(default=(), compare=False)


NUMBER = Need("float32")


def merge_needs(a, b, where):
    """The need of a column read by two nodes (None: not read)."""
    if a is None or b is None:
        return a if b is None else b
    if a.dtype != b.dtype:
        raise ValueError(
            f"Column {where} is read as a number by one step and as strings by another; "
            "such a pipeline cannot be exported as one graph."
        )
    return Need(a.dtype, a.examples + b.examples)


class Frame:
    """The columns flowing between steps: a list of 1-D tensors or one matrix."""

    def __init__(self, columns=None, matrix=None):
        self.columns = columns
        self.matrix = matrix

    @property
    def width(self):
        return len(self.columns) if self.columns is not None else self.matrix.shape[1]

    def select(self, indices):
        if self.columns is not None:
            return Frame(columns=[self.columns[i] for i in indices])
        if list(indices) == list(range(self.width)):
            return self
        return Frame(matrix=tf.gather(self.matrix, list(indices), axis=1))

    def as_columns(self):
        if self.columns is not None:
            return list(self.columns)
        return [self.matrix[:, i] for i in range(self.width)]

    def as_matrix(self, integers=False):
        """The frame as a float32 matrix (images keep their shape); with
        ``integers``, integer columns as they are (the ids a network of them
        takes as sent, through nodes only selecting columns)."""
        def numbers(tensor):
            return tensor if integers and tensor.dtype.is_integer else tf.cast(tensor, tf.float32)

        if self.columns is None:
            return numbers(self.matrix)
        return tf.stack([numbers(c) for c in self.columns], axis=1)


class Identity:
    """A step that passes its input through (``FunctionTransformer()``, "passthrough")."""

    transparent = True
    keeps_values = True  # (the values it gives are those it reads: ids stay integers)

    def __call__(self, frame):
        return frame

    def sources(self, n):
        return list(range(n))

    def passed(self, n):
        return set(range(n))

    def needs(self, n):
        return [None] * n

    def layers(self):
        return []


class LayerStep:
    """One fitted transformer as a Keras layer.

    ``per_column`` layers take the list of input columns (in their own
    dtypes), the others a float32 matrix.
    """

    transparent = keeps_values = False

    def __init__(self, layer, per_column=False, column_needs=None):
        self.layer = layer
        self.per_column = per_column
        self.column_needs = column_needs

    def __call__(self, frame):
        if self.per_column:
            return Frame(matrix=self.layer(frame.as_columns()))
        return Frame(matrix=self.layer(frame.as_matrix()))

    def needs(self, n):
        return list(self.column_needs) if self.column_needs is not None else [NUMBER] * n

    def sources(self, n):
        return None

    def passed(self, n):
        return set()

    def layers(self):
        return [self.layer]


class Sequence:
    """Nodes applied one after the other (a pipeline's transformers)."""

    def __init__(self, nodes):
        self.nodes = list(nodes)
        self.transparent = all(node.transparent for node in self.nodes)
        self.keeps_values = all(node.keeps_values for node in self.nodes)

    def __call__(self, frame):
        for node in self.nodes:
            frame = node(frame)
        return frame

    def needs(self, n):
        # The raw columns reach the first node that is not an identity.
        for node in self.nodes:
            if not node.transparent:
                return node.needs(n)
        return [None] * n

    def _selected(self, n):
        """(The input columns the nodes only selecting columns give, the index
        of the first node changing values, or None)."""
        columns = list(range(n))
        for k, node in enumerate(self.nodes):
            taken = node.sources(len(columns))
            if taken is None:
                return columns, k
            columns = [columns[i] for i in taken]
        return columns, None

    def sources(self, n):
        columns, changing = self._selected(n)
        return columns if changing is None else None

    def passed(self, n):
        columns, changing = self._selected(n)
        if changing is None:
            return set(columns)
        # What the node changing values passes, if only identities follow it (found
        # in review); after others, the positions are not known.
        node = self.nodes[changing]
        last = all(later.transparent for later in self.nodes[changing + 1:])
        return {columns[i] for i in node.passed(len(columns))} if last else set()

    def layers(self):
        return [layer for node in self.nodes for layer in node.layers()]


class ColumnSplit:
    """Column subsets through their own nodes, outputs side by side (ColumnTransformer).

    Not transparent, as it reads only some columns, but it keeps their values
    where every part passes them through (ids a network of them reads)."""

    transparent = False

    def __init__(self, parts, names=None):
        self.parts = [(list(indices), node) for indices, node in parts]
        self.names = names
        self.keeps_values = all(node.keeps_values for _, node in self.parts)

    def __call__(self, frame):
        outputs = [node(frame.select(indices)).as_matrix(integers=self.keeps_values)
                   for indices, node in self.parts]
        return Frame(matrix=tf.concat(outputs, axis=1))

    def needs(self, n):
        needs = [None] * n
        for indices, node in self.parts:
            for i, need in zip(indices, node.needs(len(indices))):
                # A column passed through untransformed ends in the network: a number
                # (found in review: one a ColumnTransformer in it drops is read by none).
                need = NUMBER if need is None and node.transparent else need
                where = repr(self.names[i]) if self.names is not None else f"{i}"
                needs[i] = merge_needs(needs[i], need, where)
        return needs

    def sources(self, n):
        taken = [node.sources(len(indices)) for indices, node in self.parts]
        if None in taken:
            return None
        return [indices[i] for (indices, _), part in zip(self.parts, taken) for i in part]

    def passed(self, n):
        return {indices[i] for indices, node in self.parts for i in node.passed(len(indices))}

    def layers(self):
        return [layer for _, node in self.parts for layer in node.layers()]
