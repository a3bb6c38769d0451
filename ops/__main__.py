import sys

from ops import environment

try:
    from ops.cli import main
except ModuleNotFoundError as exc:  # boto3 or botocore missing: not the project's environment
    cause = environment.missing_dependency(exc)
    if cause is None:
        raise
    print(environment.render(cause), file=sys.stderr)
    sys.exit(environment.EXIT_WRONG_ENVIRONMENT)

sys.exit(main())
