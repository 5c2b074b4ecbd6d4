"""warl.plugins: the built-in plugins, registered through `registry.yaml` like any third party."""
