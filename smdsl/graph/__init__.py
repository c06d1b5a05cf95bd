"""The graph layer: load a pipeline module, collect its steps and check them as a DAG."""
