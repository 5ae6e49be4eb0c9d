"""Every public class documents what it takes, in numpydoc's format, as
scikit-learn's own docstring-parameter test asks: each constructor parameter
and each argument of a public method, in signature order, with a type and a
description, and the default the signature gives."""

import ast
import inspect
import re

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

import keraslearn
from keraslearn import tracking, utils
from keraslearn.monitoring import DriftDetector
from keraslearn.wrappers import BaseWrapper

PUBLIC_CLASSES = [
    keraslearn.KerasClassifier, keraslearn.KerasRegressor, BaseWrapper,
    keraslearn.MLPClassifier, keraslearn.MLPRegressor, keraslearn.ImageClassifier,
    DriftDetector,
]
# The Keras callback takes parameters, and its methods are Keras' hooks; MLflow's
# PythonModel subclass takes none, and its methods are MLflow's.
CALLBACKS = [tracking.MLflowCallback]
MLFLOW_MODELS = [tracking.PyfuncModel]
METHODS = ("fit", "partial_fit", "predict", "predict_proba", "predict_log_proba",
           "decision_function", "initialize", "set_params", "score", "test", "load_context")
FUNCTIONS = [tracking.log_fit, tracking.log_search, tracking.log_model,
             tracking.flatten_params,
             *(getattr(utils, name) for name in utils.__all__ if name[0].islower())]
# keraslearn.utils' constraint classes, for the constructor check.
CONSTRAINTS = [utils.Interval, utils.OneOf]


def _signature_names(func, skip_self=True):
    names = []
    for p in inspect.signature(func).parameters.values():
        if skip_self and p.name == "self":
            continue
        prefix = {p.VAR_KEYWORD: "**", p.VAR_POSITIONAL: "*"}.get(p.kind, "")
        names.append(prefix + p.name)
    return names


def _check_entries(entries, names, where):
    documented = [e.name for e in entries]
    assert documented == names, f"{where}: documented {documented}, signature {names}"
    for entry in entries:
        if entry.name.startswith("*"):
            assert entry.desc, f"{where}: {entry.name} has no description"
            continue
        assert entry.type, f"{where}: {entry.name} has no type"
        assert any(line.strip() for line in entry.desc), f"{where}: {entry.name} has no text"


@pytest.mark.parametrize("cls", PUBLIC_CLASSES + CALLBACKS + CONSTRAINTS,
                         ids=lambda c: c.__name__)
def test_constructor_parameters_are_documented_with_their_defaults(cls):
    doc = ClassDoc(cls)
    names = _signature_names(cls.__init__)
    _check_entries(doc["Parameters"], names, f"{cls.__name__}()")
    _check_defaults(doc["Parameters"], inspect.signature(cls), cls.__name__)


def _check_defaults(entries, signature, where):
    defaults = {p.name: p.default for p in signature.parameters.values()}
    for entry in entries:
        default = defaults.get(entry.name, inspect.Parameter.empty)
        if default is inspect.Parameter.empty:
            continue
        match = re.search(r"default=(.+)$", entry.type)
        assert match, f"{where}: {entry.name}'s type does not state its default"
        stated = match.group(1).strip()
        assert _same_default(stated, default), (
            f"{where}: {entry.name} says default={stated}, the signature {default!r}")


def _same_default(stated, default):
    try:
        return ast.literal_eval(stated) == default
    except (ValueError, SyntaxError):
        return stated in (repr(default), str(default))


@pytest.mark.parametrize("cls", PUBLIC_CLASSES + CALLBACKS + MLFLOW_MODELS,
                         ids=lambda c: c.__name__)
def test_class_docstring_has_attributes_see_also_and_examples(cls):
    doc = ClassDoc(cls)
    assert doc["Attributes"], f"{cls.__name__} documents no fitted attribute"
    assert all(a.name.endswith("_") for a in doc["Attributes"])
    assert doc["See Also"], f"{cls.__name__} has no See Also"
    assert any(">>>" in line for line in doc["Examples"]), f"{cls.__name__} has no example"


@pytest.mark.parametrize("cls", PUBLIC_CLASSES + MLFLOW_MODELS, ids=lambda c: c.__name__)
def test_public_methods_document_their_arguments_and_return(cls):
    for name in METHODS:
        method = getattr(cls, name, None)
        if method is None or name == "score":  # scikit-learn's own mixins document score
            continue
        doc = FunctionDoc(method)
        _check_entries(doc["Parameters"], _signature_names(method), f"{cls.__name__}.{name}")
        if name != "load_context":  # MLflow's hook returns nothing
            assert doc["Returns"], f"{cls.__name__}.{name} documents no return value"


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_public_functions_document_their_parameters_defaults_and_return(func):
    doc = FunctionDoc(func)
    _check_entries(doc["Parameters"], _signature_names(func, skip_self=False), func.__name__)
    _check_defaults(doc["Parameters"], inspect.signature(func), func.__name__)
    assert doc["Returns"], f"{func.__name__} documents no return value"
    assert doc["Raises"] or doc["Examples"], f"{func.__name__}: no Raises nor Examples"


def _public_objects():
    import importlib

    for module_name in ("keraslearn", "keraslearn.datasets", "keraslearn.evaluation",
                        "keraslearn.monitoring", "keraslearn.neural_network",
                        "keraslearn.preprocessing", "keraslearn.serving", "keraslearn.tracking",
                        "keraslearn.utils", "keraslearn.wrappers"):
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield f"{module_name}.{name}", getattr(module, name)


def _free_names(source):
    """The names an example's code reads without defining or importing them."""
    import builtins

    tree = ast.parse(source)
    defined, read = set(dir(builtins)), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, ast.alias):
            defined.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.ExceptHandler)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    return read - defined


def test_every_public_example_runs_as_copied_into_an_empty_session():
    # The doctests run in their module's namespace, where the function
    # documented is defined: five examples failed with NameError when copied.
    import doctest

    finder, missing = doctest.DocTestFinder(), {}
    for where, obj in _public_objects():
        for test in finder.find(obj, where, globs={}):
            source = "".join(example.source for example in test.examples)
            if source and _free_names(source):
                missing[test.name] = sorted(_free_names(source))
    assert missing == {}
