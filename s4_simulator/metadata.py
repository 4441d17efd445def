"""The double's `$metadata`: an OData V2 EDMX document generated from shared/core/business_partner_facts.py.

Its shape follows the published API_BUSINESS_PARTNER metadata (the facts module's sources [R] and [I]):
edmx:Edmx 1.0 with m:DataServiceVersion="2.0", one Schema "API_BUSINESS_PARTNER" with the SAP annotation
namespace, entity types named <set>Type, properties with Type, Nullable (keys), MaxLength and the
sap:creatable / sap:updatable / sap:filterable / sap:display-format attributes where the facts make them
differ from the default, entity sets with their sap: flags, associations and association sets (both
copies mark every association set sap:creatable/updatable/deletable="false"), and, as [I] does, the
navigation insert restrictions as a Capabilities.NavigationRestrictions annotation (Insertable true or
false per navigation). Differences from SAP's document, on purpose: only the facts' entity sets and
properties are there (the double knows no others and refuses them), the association names are the
double's own (SAP's are hashes, assoc_<32 hex>: nothing may depend on them), no labels or documentation.

SAP's own Python client `pyodata` parses it (tests/integration/test_s4_simulator_metadata.py is that
referee).
"""

from __future__ import annotations

from xml.etree import ElementTree

from shared.core.business_partner_facts import (
    ENTITY_CONTAINER,
    ENTITY_SETS,
    SCHEMA_NAMESPACE,
    EntitySetFact,
    NavigationFact,
)

EDMX = "http://schemas.microsoft.com/ado/2007/06/edmx"
EDM = "http://schemas.microsoft.com/ado/2008/09/edm"
METADATA = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
SAP = "http://www.sap.com/Protocols/SAPData"
EDM_V4 = "http://docs.oasis-open.org/odata/ns/edm"
EDMX_V4 = "http://docs.oasis-open.org/odata/ns/edmx"
# [R], [I]: the vocabulary reference the Capabilities annotations come with (host and port as published).
_CAPABILITIES_VOCABULARY = (
    "https://host:port/sap/opu/odata/iwfnd/catalogservice;v=2/Vocabularies(TechnicalName="
    "'%2FIWBEP%2FVOC_CAPABILITIES',Version='0001',SAP__Origin='LOCAL')/$value"
)

for _prefix, _uri in (
    ("edmx", EDMX),
    ("m", METADATA),
    ("sap", SAP),
    ("edm", EDM),
    ("edmx4", EDMX_V4),
    ("edm4", EDM_V4),
):
    ElementTree.register_namespace(_prefix, _uri)


def association_name(entity_set: EntitySetFact, navigation: NavigationFact) -> str:
    return f"assoc_{entity_set.name}_{navigation.name}"


def _flags(element: ElementTree.Element, **flags: bool) -> None:
    for name, value in flags.items():
        if not value:
            element.set(f"{{{SAP}}}{name}", "false")


def _entity_type(schema: ElementTree.Element, entity_set: EntitySetFact) -> None:
    entity_type = ElementTree.SubElement(schema, f"{{{EDM}}}EntityType", Name=entity_set.entity_type)
    entity_type.set(f"{{{SAP}}}content-version", "1")
    key = ElementTree.SubElement(entity_type, f"{{{EDM}}}Key")
    for name in entity_set.keys:
        ElementTree.SubElement(key, f"{{{EDM}}}PropertyRef", Name=name)
    for fact in entity_set.properties:
        prop = ElementTree.SubElement(entity_type, f"{{{EDM}}}Property", Name=fact.name, Type=fact.edm_type)
        if not fact.nullable:
            prop.set("Nullable", "false")
        if fact.max_length is not None:
            prop.set("MaxLength", str(fact.max_length))
        if fact.edm_type in ("Edm.DateTime", "Edm.DateTimeOffset", "Edm.Time"):
            prop.set("Precision", "0")  # as both copies declare their dates and times
        if fact.upper_case:
            prop.set(f"{{{SAP}}}display-format", "UpperCase")
        _flags(prop, creatable=fact.creatable, updatable=fact.updatable, filterable=fact.filterable)
    for navigation in entity_set.navigations:
        name = association_name(entity_set, navigation)
        ElementTree.SubElement(
            entity_type,
            f"{{{EDM}}}NavigationProperty",
            Name=navigation.name,
            Relationship=f"{SCHEMA_NAMESPACE}.{name}",
            FromRole=f"FromRole_{name}",
            ToRole=f"ToRole_{name}",
        )


def _association(schema: ElementTree.Element, entity_set: EntitySetFact, navigation: NavigationFact) -> None:
    name = association_name(entity_set, navigation)
    association = ElementTree.SubElement(schema, f"{{{EDM}}}Association", Name=name)
    association.set(f"{{{SAP}}}content-version", "1")
    target = ENTITY_SETS[navigation.target]
    ElementTree.SubElement(
        association,
        f"{{{EDM}}}End",
        Type=f"{SCHEMA_NAMESPACE}.{entity_set.entity_type}",
        Multiplicity="1",
        Role=f"FromRole_{name}",
    )
    ElementTree.SubElement(
        association,
        f"{{{EDM}}}End",
        Type=f"{SCHEMA_NAMESPACE}.{target.entity_type}",
        Multiplicity="*" if navigation.to_many else "0..1",
        Role=f"ToRole_{name}",
    )


def _navigation_restrictions(schema: ElementTree.Element, entity_set: EntitySetFact) -> None:
    annotations = ElementTree.SubElement(
        schema, f"{{{EDM_V4}}}Annotations", Target=f"{SCHEMA_NAMESPACE}.{ENTITY_CONTAINER}/{entity_set.name}"
    )
    annotation = ElementTree.SubElement(
        annotations, f"{{{EDM_V4}}}Annotation", Term="Capabilities.NavigationRestrictions"
    )
    record = ElementTree.SubElement(annotation, f"{{{EDM_V4}}}Record")
    restricted = ElementTree.SubElement(record, f"{{{EDM_V4}}}PropertyValue", Property="RestrictedProperties")
    collection = ElementTree.SubElement(restricted, f"{{{EDM_V4}}}Collection")
    for navigation in entity_set.navigations:
        item = ElementTree.SubElement(collection, f"{{{EDM_V4}}}Record")
        ElementTree.SubElement(
            item, f"{{{EDM_V4}}}PropertyValue", Property="NavigationProperty", NavigationPropertyPath=navigation.name
        )
        insert = ElementTree.SubElement(item, f"{{{EDM_V4}}}PropertyValue", Property="InsertRestrictions")
        insert_record = ElementTree.SubElement(insert, f"{{{EDM_V4}}}Record")
        ElementTree.SubElement(
            insert_record,
            f"{{{EDM_V4}}}PropertyValue",
            Property="Insertable",
            Bool="true" if navigation.deep_insert else "false",
        )


def metadata_document() -> bytes:
    """The EDMX document, UTF-8 with its XML declaration."""
    edmx = ElementTree.Element(f"{{{EDMX}}}Edmx", Version="1.0")
    reference = ElementTree.SubElement(edmx, f"{{{EDMX_V4}}}Reference", Uri=_CAPABILITIES_VOCABULARY)
    ElementTree.SubElement(
        reference, f"{{{EDMX_V4}}}Include", Namespace="Org.OData.Capabilities.V1", Alias="Capabilities"
    )
    services = ElementTree.SubElement(edmx, f"{{{EDMX}}}DataServices")
    services.set(f"{{{METADATA}}}DataServiceVersion", "2.0")
    schema = ElementTree.SubElement(services, f"{{{EDM}}}Schema", Namespace=SCHEMA_NAMESPACE)
    schema.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    schema.set(f"{{{SAP}}}schema-version", "1")
    for entity_set in ENTITY_SETS.values():
        _entity_type(schema, entity_set)
    for entity_set in ENTITY_SETS.values():
        for navigation in entity_set.navigations:
            _association(schema, entity_set, navigation)
    container = ElementTree.SubElement(schema, f"{{{EDM}}}EntityContainer", Name=ENTITY_CONTAINER)
    container.set(f"{{{METADATA}}}IsDefaultEntityContainer", "true")
    for entity_set in ENTITY_SETS.values():
        element = ElementTree.SubElement(
            container,
            f"{{{EDM}}}EntitySet",
            Name=entity_set.name,
            EntityType=f"{SCHEMA_NAMESPACE}.{entity_set.entity_type}",
        )
        _flags(element, creatable=entity_set.creatable, updatable=entity_set.updatable, deletable=entity_set.deletable)
        element.set(f"{{{SAP}}}content-version", "1")
    for entity_set in ENTITY_SETS.values():
        for navigation in entity_set.navigations:
            name = association_name(entity_set, navigation)
            association_set = ElementTree.SubElement(
                container, f"{{{EDM}}}AssociationSet", Name=f"{name}_set", Association=f"{SCHEMA_NAMESPACE}.{name}"
            )
            _flags(association_set, creatable=False, updatable=False, deletable=False)
            association_set.set(f"{{{SAP}}}content-version", "1")
            ElementTree.SubElement(association_set, f"{{{EDM}}}End", EntitySet=entity_set.name, Role=f"FromRole_{name}")
            ElementTree.SubElement(association_set, f"{{{EDM}}}End", EntitySet=navigation.target, Role=f"ToRole_{name}")
    for entity_set in ENTITY_SETS.values():
        if entity_set.navigations:
            _navigation_restrictions(schema, entity_set)
    return ElementTree.tostring(edmx, encoding="utf-8", xml_declaration=True)
