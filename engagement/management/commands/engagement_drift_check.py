import json

from django.core.management.base import BaseCommand, CommandParser

from engagement import services


class Command(BaseCommand):
    help = (
        "Compare live engagement counters with the like/retweet/reply/quote facts and report drift; "
        "repair it only with --repair (the periodic drift_check task repairs on its own)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sample", type=int, default=200, help="How many recently active tweets to check.")
        parser.add_argument("--tweet", type=int, action="append", dest="tweet_ids", help="Check this tweet (repeat).")
        parser.add_argument("--repair", action="store_true", help="Also set the live counters to the facts.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, sample: int, tweet_ids: list[int] | None, repair: bool, **options) -> None:
        report = services.drift_check(sample=sample, tweet_ids=tweet_ids, repair=repair)
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        for entry in report["drift"]:
            state = "repaired" if entry["repaired"] else "not repaired: run with --repair"
            self.stdout.write(
                f"tweet {entry['tweet_id']} {entry['metric']}: live {entry['live']} ≠ facts {entry['facts']} ({state})"
            )
        self.stdout.write(f"checked {report['checked']}, drifted {report['drifted']}, repaired {report['repaired']}")
