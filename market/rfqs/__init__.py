"""Quote requests (询价), invitations, quotes (报价) and their comparison (比价)."""
