"""The local stack: DynamoDB Local, moto's server, the Chalice app over HTTP and the event-source runner."""
