"""``wa-base``: execute the frozen WA model's reference chunks unchanged."""
