"""Transformers whose output is not always a table, in pipelines configured for tables."""

import sklearn

_CONTAINERS = ("default", "pandas", "polars")


class NotATable:
    """A mixin for transformers whose output may be arrays that scikit-learn's
    ``set_output`` cannot make a table of (images, groups of columns). Its
    ``set_output`` is accepted, so that ``Pipeline.set_output`` (and
    ``sklearn.set_config(transform_output=...)``) configures the steps around
    such a transformer instead of failing on it, and only output that is a
    matrix of named columns follows it (:meth:`_as_configured`). Put it before
    ``TransformerMixin``, with ``auto_wrap_output_keys=None`` in the class
    statement where the class names its output columns."""

    def set_output(self, *, transform=None):
        """Set the container of the output where it is a matrix of columns
        (see ``transform``); other output stays as it is.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container, as in scikit-learn; None leaves it unchanged, and
            until set, scikit-learn's ``transform_output`` configuration decides.

        Returns
        -------
        self : object
            This transformer.
        """
        if transform is not None:
            if transform not in _CONTAINERS:
                raise ValueError(f"set_output(transform={transform!r}): the output container "
                                 f"must be one of {list(_CONTAINERS)}, or None.")
            self._output_container = transform
        return self

    def __sklearn_clone__(self):
        # Clones (searches, cross-validation) keep the container set, as
        # scikit-learn's clone keeps its own transformers' set_output.
        clone = super().__sklearn_clone__()
        if "_output_container" in self.__dict__:
            clone._output_container = self._output_container
        return clone

    def _as_configured(self, out, X):
        """The 2-D array ``out`` (rows of ``X``) in the container set for it."""
        kind = getattr(self, "_output_container", None) or sklearn.get_config()[
            "transform_output"]
        if kind == "default":
            return out
        columns = list(self.get_feature_names_out())
        if kind == "polars":
            import polars

            return polars.DataFrame(out, schema=columns, orient="row")
        import pandas

        return pandas.DataFrame(out, columns=columns, index=X.index if hasattr(X, "iloc") else None)
