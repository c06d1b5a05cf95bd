"""The compile layer: the only part of smdsl that imports the SageMaker SDK (lazily)."""
