"""The books of the Tryton test database (run by scripts/tryton, in-process with proteus):
a Norwegian company keeping its accounts in NOK, EUR as a second currency, a few countries,
a chart of accounts from the `account` module's template, fiscal years with strict sequences
for this year and the next, the payment term "Direct" and the accounting product category
"Goods" that the kitchen-quotes example gives the products it creates.

Usage: python tryton-books.py DATABASE CONFIG_FILE
"""

import datetime
import sys
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from proteus import Model, Wizard, config

database, config_file = sys.argv[1:3]
connection = config.set_trytond(database=database, config_file=config_file)
get = Model.get

currencies = {}
for code, name, symbol, rate in [
    ("NOK", "Norwegian Krone", "kr", "1"),
    ("EUR", "Euro", "€", "0.085"),
]:
    currency = get("currency.currency")(
        name=name, code=code, symbol=symbol, rounding=Decimal("0.01")
    )
    currency.save()
    get("currency.currency.rate")(
        currency=currency, date=datetime.date(2000, 1, 1), rate=Decimal(rate)
    ).save()
    currencies[code] = currency

for code, name in [
    ("NO", "Norway"),
    ("SE", "Sweden"),
    ("DK", "Denmark"),
    ("DE", "Germany"),
]:
    get("country.country")(code=code, name=name).save()

# The company; the wizard also makes it the admin user's company.
wizard = Wizard("company.company.config")
wizard.execute("company")
company_party = get("party.party")(name="Kjøkkenhuset Lillehammer AS")
company_party.save()
wizard.form.party = company_party
wizard.form.currency = currencies["NOK"]
wizard.execute("add")
connection._context = get("res.user").get_preferences(True, {})
(company,) = get("company.company").find()

# Chart of accounts with default receivable, payable, revenue and expense accounts.
template = get("account.account.template")(
    get("ir.model.data").get_id("account.account_template_root_en", connection.context)
)
chart = Wizard("account.create_chart")
chart.execute("account")
chart.form.account_template = template
chart.form.company = company
chart.execute("create_account")


def account(kind):
    (found,) = get("account.account").find(
        [
            ("type.%s" % kind, "=", True),
            ("company", "=", company.id),
            ("closed", "!=", True),
        ],
        limit=1,
    )
    return found


revenue, expense = account("revenue"), account("expense")
chart.form.account_receivable = account("receivable")
chart.form.account_payable = account("payable")
if hasattr(chart.form, "category_account_revenue"):
    chart.form.category_account_revenue = revenue
    chart.form.category_account_expense = expense
chart.execute("create_properties")

# Fiscal years with strict move and invoice sequences, and their periods.
strict = get("ir.sequence.strict")
(move_type,) = get("ir.sequence.type").find([("name", "=", "Account Move")], limit=1)
(invoice_type,) = get("ir.sequence.type").find([("name", "=", "Invoice")], limit=1)
this_year = datetime.date.today().year
# From 2026, the year of the example quotes, to next year.
for year in range(min(2026, this_year), this_year + 2):
    start = datetime.date(year, 1, 1)
    fiscal_year = get("account.fiscalyear")(
        name=str(year),
        company=company,
        start_date=start,
        end_date=start + relativedelta(month=12, day=31),
    )
    fiscal_year.move_sequence = strict(
        name="Moves %s" % year, sequence_type=move_type, company=company
    )
    fiscal_year.move_sequence.save()
    invoices = strict(
        name="Invoices %s" % year, sequence_type=invoice_type, company=company
    )
    invoices.save()
    (sequences,) = fiscal_year.invoice_sequences
    sequences.out_invoice_sequence = sequences.in_invoice_sequence = invoices
    sequences.out_credit_note_sequence = sequences.in_credit_note_sequence = invoices
    fiscal_year.save()
    get("account.fiscalyear").click([fiscal_year], "create_period")

term = get("account.invoice.payment_term")(name="Direct")
term.lines.new(type="remainder")
term.save()

category = get("product.category")(name="Goods", accounting=True)
category.account_revenue, category.account_expense = revenue, expense
category.save()

print("company=%s payment_term=%s category=%s" % (company.id, term.id, category.id))

# The product the kitchen-quotes example's summary mode puts on its one line.
unit = get("product.uom")(get("ir.model.data").get_id("product.uom_unit", connection.context))
kitchen = get("product.template")(
    name="Kjøkken",
    code="9000",
    type="service",
    default_uom=unit,
    sale_uom=unit,
    salable=True,
    list_price=Decimal("0"),
    account_category=category,
)
kitchen.save()
print("summary product=%s" % kitchen.products[0].id)
