"""How each built-in step kind runs locally: one module per kind, named by its StepKind."""
