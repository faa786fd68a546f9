"""Models that turn the customer 360 into scores: propensity, CLV, segments and next best actions."""
