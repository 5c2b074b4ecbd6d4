"""warl-example-plugin: how a third party ships warl plugins as a pip package."""
