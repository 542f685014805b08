"""Installed as `kerasforge.recipes.engine`: from a validated recipe to a trained model.

Builds the model, optimizer and callbacks, prepares the data, fits, and
writes run folders; `compare`, `lr-find` and autoencoder pretraining run on
the same pieces.
"""
