import { Field, ID, InputType, ObjectType } from 'type-graphql';
import type { Role } from '../domain/caller';
import { KeyRoleEnum } from './enums';
import { Device } from './types';
import { DateTimeScalar } from './scalars';

@ObjectType({ description: 'An API key, without its secret (which is shown once, at creation).' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => KeyRoleEnum)
  role!: Role;

  @Field(() => String)
  label!: string;

  @Field(() => ID, { nullable: true, description: 'The device a DEVICE key ingests for.' })
  deviceId!: string | null;

  @Field(() => DateTimeScalar)
  createdAt!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Updated at most once a minute.' })
  lastUsedAt!: number | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: number | null;
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey)
  key!: ApiKey;

  @Field(() => String, { description: 'The secret. Shown once: it is stored only as a hash.' })
  secret!: string;
}

@ObjectType()
export class RegisteredDevice {
  @Field(() => Device)
  device!: Device;

  @Field(() => String, { description: "The device's own key (role DEVICE). Shown once; rotateDeviceKey replaces it." })
  deviceKey!: string;
}

@ObjectType({ description: 'Who the presented key belongs to.' })
export class Viewer {
  @Field(() => ID)
  keyId!: string;

  @Field(() => KeyRoleEnum)
  role!: Role;

  @Field(() => ID, { nullable: true })
  deviceId!: string | null;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => KeyRoleEnum)
  role!: Role;

  @Field(() => String, { description: '1-100 characters, for people.' })
  label!: string;

  @Field(() => ID, { nullable: true, description: 'Required for DEVICE keys, refused for the others.' })
  deviceId?: string | null;
}
