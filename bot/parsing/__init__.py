"""Understanding what sales reps type or say: Chinese dates, amounts, quantities,
birthdays. Pure functions without database access, shared by handlers, the CLI
importer and scheduler jobs."""
