"""The deploy layer: compare with what is deployed, upload missing code, create or update."""
