"""Theory exams: question bank, level blueprints, paper assembly, attempts, scoring and item analysis."""
