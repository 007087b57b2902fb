from django.core.management.commands import makemessages


class Command(makemessages.Command):
    # A guessed ("fuzzy") translation is worse than none: a reviewer sees an empty
    # entry and fills it; a fuzzy one is silently wrong until someone notices.
    msgmerge_options = ["-q", "--backup=none", "--previous", "--update", "--no-fuzzy-matching"]
