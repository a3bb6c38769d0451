"""Operations commands for the deployed stacks: `python -m ops <command> -s <stack>`."""
