//! `/api/openapi.json`: the owner API's OpenAPI 3.0 document, generated from the owner route
//! table (`owner::routes()`), so every route is in it and none is made up. It describes paths,
//! methods, path parameters, bearer auth, who may call each operation (`x-role`: owner, or any
//! member of the business) and the one error shape every failure uses; request and success
//! bodies are JSON objects (their fields are in the README's Owner API section).

use axum::Json;
use serde_json::{Map, Value, json};

use crate::owner::Role;

/// What a path parameter holds: ids are UUIDs, the calendar provider is a name.
fn parameter(name: &str) -> Value {
    let schema = if name.ends_with("_id") {
        json!({"type": "string", "format": "uuid"})
    } else {
        json!({"type": "string", "enum": ["google", "jobber"]})
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for route in crate::owner::routes() {
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(parameter)
            .collect();
        let mut item = Map::new();
        for method in route.methods {
            let mut op = json!({
                "operationId": format!("{}{}", method.to_lowercase(), route.path.replace(['/', '{', '}', '-'], "_")),
                "parameters": params,
                "responses": {
                    "204": {"description": "done, nothing to return"},
                    "2XX": {"description": "done", "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {}}}},
                    "400": error_response("malformed request"),
                    "401": error_response("not signed in"),
                    "403": error_response("the role does not allow it"),
                    "404": error_response("not found, or another business's"),
                    "405": error_response("method not allowed"),
                    "409": error_response("conflict (e.g. the slot was just taken)"),
                    "413": error_response("body too large"),
                    "415": error_response("not JSON"),
                    "422": error_response("invalid fields"),
                    "429": error_response("too many requests"),
                    "502": error_response("a vendor (carrier, calendar) failed"),
                    "503": error_response("a dependency is unavailable; retry"),
                },
            });
            op["x-role"] = json!(match route.role.for_method(method) {
                Role::Owner => "owner",
                _ => "member",
            });
            if ["POST", "PUT", "PATCH"].contains(method) {
                op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
            }
            item.insert(method.to_lowercase(), op);
        }
        paths.insert(route.path.to_owned(), Value::Object(item));
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "NeverMissCall owner API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"alternatives": {}, "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}}
                    }
                }}
            }}
        }
    })
}

pub async fn serve() -> Json<Value> {
    Json(document())
}
