"""DVC Cloud: the back end of a province's public-service portal and one-stop desks."""
