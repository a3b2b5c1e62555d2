"""Engagements (项目): the work an accepted quote agreed, from kick-off to 验收 and completion."""
