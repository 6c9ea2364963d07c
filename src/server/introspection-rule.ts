import { GraphQLError, getNamedType, isIntrospectionType, type ValidationRule } from 'graphql';

/**
 * Refuses introspection (`__schema`, `__type`, fields of an introspection type) when
 * TELEMETRY_INTROSPECTION is off. graphql-js's NoSchemaIntrospectionCustomRule does the same
 * but its message says nothing of how to turn it on, and Apollo's own refusal names an Apollo
 * constructor option a user of this service cannot set: this one names the variable.
 * Used by HTTP (Apollo's validationRules) and by the WebSocket path alike.
 */
export const NoIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    const type = getNamedType(context.getType());
    if (node.name.value === '__schema' || node.name.value === '__type' || (type && isIntrospectionType(type))) {
      context.reportError(
        new GraphQLError(`introspection is off on this server (TELEMETRY_INTROSPECTION=off); "${node.name.value}" cannot be queried`, { nodes: node }),
      );
    }
  },
});
