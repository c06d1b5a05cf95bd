"""The declare layer: decorators, configs, parameters and environments. No SageMaker SDK here."""
