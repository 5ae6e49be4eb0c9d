"""House-price regression: features on very different scales, and why scaling matters.

A generated housing table stands in for the California housing data (which
needs a download): living area and lot size in square feet (thousands), a
crime rate in fractions of a percent, distances, ages and incomes in between:
the spread of the largest feature is about a million times the smallest's.
The price is in units of $100,000, as in the California data.

The same Keras network is trained twice, on the raw columns and behind a
``StandardScaler`` in a ``Pipeline``, and evaluated with MAE, RMSE, R² and
Pearson's correlation; the scaled model's report has the predicted-vs-actual
and residual figures.
"""

import argparse

# keraslearn first: it hides TensorFlow's start-up logs, which importing keras prints
from keraslearn import KerasRegressor
from keraslearn.evaluation import evaluate

import keras
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def make_houses(n_samples=2000, random_state=0):
    """A house-price table with columns on scales from 0.001 to 10,000."""
    rng = np.random.default_rng(random_state)
    area = rng.uniform(500, 4500, n_samples)  # square feet
    houses = pd.DataFrame({
        "living_area_sqft": area,
        "lot_size_sqft": area * rng.uniform(1.5, 8, n_samples),
        "bedrooms": np.clip(np.rint(area / 700 + rng.normal(0, 0.7, n_samples)), 1, 7),
        "age_years": rng.uniform(0, 100, n_samples),
        "distance_to_center_km": rng.gamma(2.0, 6.0, n_samples),
        "median_income_k": rng.lognormal(4.0, 0.4, n_samples),  # $1,000s
        "crime_rate": rng.beta(2, 200, n_samples),  # about 0.01
    })
    price = (
        1.0
        + 0.0009 * area
        + 0.25 * np.log(houses["lot_size_sqft"] / area)
        + 0.08 * houses["bedrooms"]
        - 0.012 * houses["age_years"] + 0.00008 * houses["age_years"] ** 2
        + 1.5 * np.exp(-houses["distance_to_center_km"] / 8)
        + 0.025 * houses["median_income_k"]
        - 60 * houses["crime_rate"]
    )
    price = price * rng.lognormal(0, 0.08, n_samples)  # $100,000s
    return houses, price.rename("price_100k")


def build(meta, hidden=(64, 32)):
    layers = [keras.Input(meta["X_shape_"][1:])]
    layers += [keras.layers.Dense(units, activation="relu") for units in hidden]
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers)


def network(epochs):
    return KerasRegressor(
        build, hidden=(64, 32), loss="mse", metrics=["mae"], optimizer="adam",
        optimizer__learning_rate=3e-3, epochs=epochs, batch_size=32,
        validation_split=0.1, random_state=0,
    )


def main(output=None, quick=False):
    epochs = 25 if quick else 60
    X, y = make_houses()
    print("feature scales (standard deviation):")
    print(X.std().to_string(float_format="{:,.4f}".format), "\n")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    models = {
        "linear regression (reference)": LinearRegression(),
        "network, raw features": network(epochs),
        "network, StandardScaler": make_pipeline(StandardScaler(), network(epochs)),
    }
    reports, rows = {}, []
    for name, model in models.items():
        model.fit(X_train, y_train)
        scaled = name.endswith("StandardScaler")
        report = evaluate(model, X_test, y_test, output_dir=output if scaled else None,
                          name="house_prices" if scaled else name, overwrite=True)
        reports[name] = report
        rows.append({"model": name, **{k: report.metrics[k] for k in
                                       ("mae", "rmse", "r2", "pearson_r")}})
    print("test set, price in $100,000s")
    print(pd.DataFrame(rows).set_index("model").to_string(float_format="{:.3f}".format))
    print()
    print(reports["network, StandardScaler"])
    return reports


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for a smoke test")
    args = parser.parse_args()
    main(args.output, quick=args.quick)
