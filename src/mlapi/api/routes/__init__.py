"""Route modules, one per resource: the article's routes, predict, models, jobs, health."""
