"""Machine learning: the compliance classifier (and, later, the recommender), trained from dbt marts."""
