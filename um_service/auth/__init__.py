"""Who is calling: registered clients, OAuth 2.0 client-credentials tokens (SMART Backend Services style), and the
one access policy every route is checked against."""
