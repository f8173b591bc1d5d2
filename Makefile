.PHONY: demo test serve bench bench-peers bench-peers-pooler lint lock schema messages clean

demo: ## Install what is missing, start the embedded database, load demo data, serve on :8000
	scripts/bootstrap
	.venv/bin/perisai demo
	.venv/bin/perisai serve

test: ## Install what is missing (PostGIS, Chromium), lint, and run the whole test suite against a throwaway PostGIS
	scripts/bootstrap --browser
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports
	.venv/bin/pytest

lint: ## ruff (style and likely bugs), mypy (types) and import-linter (the layers)
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports

serve:
	.venv/bin/perisai serve

bench: ## National-scale coverage benchmark: HTTP vs SQL alone (first run builds .perisai/bench, ~10 min)
	scripts/bootstrap
	.venv/bin/python -m bench.coverage_bench

bench-peers: ## Against PostGraphile on ../shared/peers' national data, side by side (first run imports it, ~15 min)
	scripts/bootstrap --peers
	.venv/bin/python -m bench.peers

bench-peers-pooler: ## Our server on the same data straight to PostgreSQL, then through PgBouncer 1.18 and 1.24 (transaction mode)
	scripts/bootstrap --peers
	.venv/bin/python -m bench.peers --pooler

schema: ## Write the GraphQL SDL to schema.graphql (a test fails when it is out of date)
	.venv/bin/python -c 'from schema import schema; print(schema.as_str())' > schema.graphql

messages: ## Extract the map pages' messages and update the Indonesian catalog; then translate what is new
	.venv/bin/pybabel extract -k _ -k N_ -k n_:1,2 --project perisai-coverage --no-location --sort-output -o maps/locale/messages.pot maps
	.venv/bin/pybabel update -i maps/locale/messages.pot -d maps/locale -l id --no-fuzzy-matching --ignore-obsolete

lock: ## Pin every dependency (and theirs) in requirements.lock from pyproject.toml; bootstrap installs from it
	.venv/bin/pip install -q pip-tools
	.venv/bin/pip-compile --quiet --extra test --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

clean: ## Stop the embedded database and remove its data
	-.venv/bin/perisai db down
	rm -rf .perisai
