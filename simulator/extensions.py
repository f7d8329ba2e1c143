"""Flask extensions, created unbound and initialised by the app factory."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from dbmodel import Base

# db.Model shares Base's registry and metadata: the exams tables (declared on Base, without Flask)
# and the web app's tables are one schema for Alembic and for relationships.
db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
