"""No models: the top app composes the others. The module exists so that Django sends this app's
post_migrate signal, which builds the role groups."""
