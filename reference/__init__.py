"""The ground floor: reference data (CPV, geography, activities) and the text rules every layer
shares. Imports no other package of the project."""
